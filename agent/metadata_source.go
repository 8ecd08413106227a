package agent

import (
	"fmt"
	"io"
	"log/slog"
	"time"

	"k8s.io/klog/v2"

	"github.com/netlens/netlens/agent/config"
	"github.com/netlens/netlens/agent/metadata"
)

// podsFileInterval is how often the pods file is checked for changes.
const podsFileInterval = 2 * time.Second

// newMetadataSource returns the pod inventory cfg.Metadata names, started:
// the Kubernetes source has listed the pods, or waited its sync timeout and
// goes on trying (an unreachable API server shows in the source's Err, it
// does not stop the agent). Errors are bad configuration.
func newMetadataSource(cfg config.Config, logger *slog.Logger) (metadata.Source, error) {
	kind := cfg.Metadata
	if kind == "" || kind == "auto" { // a Config not made by config.Parse
		kind = "none"
		if cfg.PodsFile != "" {
			kind = "pods-file"
		}
	}
	switch kind {
	case "pods-file":
		f, err := metadata.NewPodsFile(cfg.PodsFile, podsFileInterval)
		if err != nil {
			return nil, fmt.Errorf("--pods-file: %w", err)
		}
		return f, nil
	case "kubernetes":
		klog.SetSlogLogger(logger.With("component", "client-go"))
		k, err := metadata.NewKubernetes(metadata.KubernetesOptions{
			Kubeconfig: cfg.Kubeconfig, NodeName: cfg.NodeName, ClusterPods: cfg.ClusterPods, Logger: logger,
		})
		if err != nil {
			return nil, fmt.Errorf("--metadata kubernetes (--kubeconfig %q): %w", cfg.Kubeconfig, err)
		}
		k.Start()
		return k, nil
	}
	return metadata.None{}, nil
}

// closeMetadataSource stops a source that runs in the background (informers).
func closeMetadataSource(s metadata.Source) {
	if c, ok := s.(io.Closer); ok {
		_ = c.Close()
	}
}
