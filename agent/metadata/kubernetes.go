package metadata

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
)

// DefaultSyncTimeout is how long Start waits for the first list of pods.
const DefaultSyncTimeout = 20 * time.Second

// errorMemory is how long a failed list or watch keeps Err set: the
// informers retry at least every 30s while the API server stays unreachable,
// so a persistent failure stays visible and a cured one clears.
const errorMemory = 2 * time.Minute

// Informers retry some failures (an unreachable server) silently, so the
// source asks the server itself, as the informer would (a list of this
// node's pods, served from the API server's cache): often until the pods are
// listed, then seldom.
const (
	probeUnsynced = 5 * time.Second
	probeSynced   = time.Minute
)

// KubernetesOptions configure a Kubernetes source.
type KubernetesOptions struct {
	// Kubeconfig is a kubeconfig file; "" uses the in-cluster service account.
	Kubeconfig string
	// NodeName is this node: its pods are watched.
	NodeName string
	// ClusterPods watches every pod of the cluster, so the remote end of a
	// drop is named too; it costs memory in proportion to the cluster.
	ClusterPods bool
	// SyncTimeout bounds Start's wait for the first list (DefaultSyncTimeout if 0).
	SyncTimeout time.Duration
	// Retain and MaxEnded bound the ownership history (NewHistory).
	Retain   time.Duration
	MaxEnded int
	Logger   *slog.Logger
}

// Kubernetes is the pod inventory of the Kubernetes API, kept by a shared
// informer on the pods of this node (all pods with ClusterPods). The
// ReplicaSets and Jobs that own this node's pods are got one by one as the
// pods name them (owners), to name the workload: a ReplicaSet's pod belongs
// to its Deployment, a Job's pod to its CronJob.
//
// Ownership of addresses is recorded in a History as the informers report
// pods: a pod owns its addresses from when its network came up (the
// PodReadyToStartContainers condition, else its start) until the event that
// shows it without them (deleted, finished, or its address taken by another
// pod). An unreachable API server does not stop the source: Err says why,
// and the informers keep retrying.
type Kubernetes struct {
	opts    KubernetesOptions
	client  kubernetes.Interface
	history *History

	pods       informers.SharedInformerFactory
	podInf     cache.SharedIndexInformer
	podHandler cache.ResourceEventHandlerRegistration
	owners     *owners

	// probeUnsynced and probeSynced are how often probe asks the server.
	probeUnsynced, probeSynced time.Duration
	// now dates the informers' events and errors (time.Now; tests set a
	// clock of their own to place events at chosen instants).
	now func() time.Time

	stop      chan struct{}
	startOnce sync.Once
	stopOnce  sync.Once

	mu        sync.Mutex
	synced    bool
	lastErr   error
	lastErrAt time.Time
	probeErr  error
}

// NewKubernetes connects to the API server named by opts.Kubeconfig, or the
// cluster the agent runs in. Errors are configuration errors (no kubeconfig,
// not in a cluster); an unreachable server is not one. Call Start.
func NewKubernetes(opts KubernetesOptions) (*Kubernetes, error) {
	var (
		cfg *rest.Config
		err error
	)
	if opts.Kubeconfig != "" {
		cfg, err = clientcmd.BuildConfigFromFlags("", opts.Kubeconfig)
	} else {
		cfg, err = rest.InClusterConfig()
	}
	if err != nil {
		return nil, fmt.Errorf("kubernetes client configuration: %w", err)
	}
	cfg.UserAgent = "netlens-agent"
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	return NewKubernetesForClient(client, opts)
}

// NewKubernetesForClient is NewKubernetes with a given client (a fake one in tests).
func NewKubernetesForClient(client kubernetes.Interface, opts KubernetesOptions) (*Kubernetes, error) {
	if opts.NodeName == "" && !opts.ClusterPods {
		return nil, errors.New("kubernetes: the node name is not known")
	}
	if opts.SyncTimeout <= 0 {
		opts.SyncTimeout = DefaultSyncTimeout
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	k := &Kubernetes{opts: opts, client: client, history: NewHistory(opts.Retain, opts.MaxEnded), stop: make(chan struct{}),
		probeUnsynced: probeUnsynced, probeSynced: probeSynced, now: time.Now}

	var podOpts []informers.SharedInformerOption
	if !opts.ClusterPods {
		sel := fields.OneTermEqualSelector("spec.nodeName", opts.NodeName).String()
		podOpts = append(podOpts, informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.FieldSelector = sel }))
	}
	k.pods = informers.NewSharedInformerFactoryWithOptions(client, 0, podOpts...)
	k.podInf = k.pods.Core().V1().Pods().Informer()
	k.owners = newOwners(client)
	k.owners.answered = k.onOwner
	k.owners.errored = func(what string, err error) { k.setErr("getting "+what, err) }
	if err := k.podInf.SetTransform(slim); err != nil {
		return nil, err
	}
	if err := k.podInf.SetWatchErrorHandler(func(_ *cache.Reflector, err error) { k.setErr("listing and watching pods", err) }); err != nil {
		return nil, err
	}
	var err error
	k.podHandler, err = k.podInf.AddEventHandler(cache.ResourceEventHandlerDetailedFuncs{
		AddFunc:    func(obj any, initial bool) { k.onPod(obj, initial) },
		UpdateFunc: func(_, obj any) { k.onPod(obj, false) },
		DeleteFunc: k.onDelete,
	})
	if err != nil {
		return nil, err
	}
	return k, nil
}

// Start runs the informer and waits up to the sync timeout for the first
// list of pods and the lookups of their owners (so that the first drops are
// named through them). It returns when synced or timed out; the informer
// goes on either way.
func (k *Kubernetes) Start() {
	k.startOnce.Do(func() {
		go k.probe()
		deadline := time.After(k.opts.SyncTimeout)
		stopOrDeadline := make(chan struct{})
		go func() {
			select {
			case <-deadline:
			case <-k.stop:
			}
			close(stopOrDeadline)
		}()
		go k.owners.run(k.stop)
		k.pods.Start(k.stop)
		// The handler's sync, not the informer's: the first list is in the
		// history and every owner of it asked for.
		if cache.WaitForCacheSync(stopOrDeadline, k.podHandler.HasSynced) {
			if !cache.WaitForCacheSync(stopOrDeadline, k.owners.idle) {
				k.opts.Logger.Warn("the owners of some pods not looked up yet: their workloads are named from their names until they are", "err", k.Err())
			}
			k.markSynced()
			return
		}
		k.opts.Logger.Warn("pods not listed from the Kubernetes API yet; drops are not attributed to pods until they are",
			"timeout", k.opts.SyncTimeout, "err", k.Err())
		go func() {
			if cache.WaitForCacheSync(k.stop, k.podHandler.HasSynced) {
				k.markSynced()
				k.opts.Logger.Info("pods listed from the Kubernetes API")
			}
		}()
	})
}

// Close stops the informers. It does not wait for them: one backing off
// from an unreachable server stops only when its back-off ends.
func (k *Kubernetes) Close() error {
	k.stopOnce.Do(func() { close(k.stop) })
	return nil
}

// probe asks the API server what the informers would, to report why they
// cannot list or watch.
func (k *Kubernetes) probe() {
	for {
		k.mu.Lock()
		interval := k.probeSynced
		if !k.synced {
			interval = k.probeUnsynced
		}
		k.mu.Unlock()
		select {
		case <-k.stop:
			return
		case <-time.After(interval):
		}
		opts := metav1.ListOptions{ResourceVersion: "0", Limit: 1}
		if k.opts.NodeName != "" {
			opts.FieldSelector = fields.OneTermEqualSelector("spec.nodeName", k.opts.NodeName).String()
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, err := k.client.CoreV1().Pods("").List(ctx, opts)
		cancel()
		k.mu.Lock()
		k.probeErr = nil
		if err != nil {
			k.probeErr = fmt.Errorf("listing pods: %w", err)
		}
		k.mu.Unlock()
	}
}

func (k *Kubernetes) markSynced() {
	k.mu.Lock()
	k.synced = true
	k.mu.Unlock()
}

func (k *Kubernetes) setErr(what string, err error) {
	k.mu.Lock()
	k.lastErr, k.lastErrAt = fmt.Errorf("%s: %w", what, err), k.now()
	k.mu.Unlock()
}

// Name says which pods are watched.
func (k *Kubernetes) Name() string {
	if k.opts.ClusterPods {
		return "kubernetes:cluster"
	}
	return "kubernetes:node=" + k.opts.NodeName
}

// Err is why the pods are not listed yet, or the latest failure to list or
// watch within the last two minutes; nil when the inventory is current.
func (k *Kubernetes) Err() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	err := k.probeErr
	if err == nil && k.lastErr != nil && k.now().Sub(k.lastErrAt) < errorMemory {
		err = k.lastErr
	}
	switch {
	case !k.synced && err != nil:
		return fmt.Errorf("pods not listed yet from the Kubernetes API: %w", err)
	case !k.synced:
		return errors.New("pods not listed yet from the Kubernetes API")
	}
	return err
}

// PodByIP returns the pod that owned ip through the whole window [from, to].
func (k *Kubernetes) PodByIP(ip netip.Addr, from, to time.Time) (Pod, bool) {
	return k.history.Lookup(ip, from, to)
}

// PodByUID returns the pod uid if it is in the inventory now.
func (k *Kubernetes) PodByUID(uid string) (Pod, bool) { return k.history.Current(uid) }

// History is the source's ownership history.
func (k *Kubernetes) History() *History { return k.history }

func (k *Kubernetes) onPod(obj any, initial bool) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	at := k.now()
	// A field selector the server (or a fake) did not apply must not let
	// another node's pods in.
	if !k.opts.ClusterPods && pod.Spec.NodeName != k.opts.NodeName {
		k.history.Remove(string(pod.UID), at)
		return
	}
	p, owner := k.convert(pod)
	from := p.Since
	if from.IsZero() && !initial {
		from = at
	}
	k.history.Set(p, from, at)
	// The owner's answer may have come between convert and Set, after
	// onOwner looked for the pods to rename.
	if owner != "" {
		if w, ok := k.owners.get(owner); ok {
			k.history.Rename(p.UID, w.kind, w.name)
		}
	}
}

// onOwner renames the pods of an owner whose controller was just looked up.
func (k *Kubernetes) onOwner(uid types.UID, w workloadName) {
	for _, obj := range k.podInf.GetStore().List() {
		if pod, ok := obj.(*corev1.Pod); ok {
			if ref := metav1.GetControllerOf(pod); ref != nil && ref.UID == uid {
				k.history.Rename(string(pod.UID), w.kind, w.name)
			}
		}
	}
}

func (k *Kubernetes) onDelete(obj any) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	if pod, ok := obj.(*corev1.Pod); ok {
		k.history.Remove(string(pod.UID), k.now())
	}
}

// convert makes the Pod attribution needs, its workload resolved as far as
// known; owner is the ReplicaSet or Job still being looked up, if any.
func (k *Kubernetes) convert(pod *corev1.Pod) (p Pod, owner types.UID) {
	p = Pod{UID: string(pod.UID), Namespace: pod.Namespace, Name: pod.Name, HostNetwork: pod.Spec.HostNetwork, Since: podSince(pod)}
	p.WorkloadKind, p.Workload, owner = k.workload(pod)
	// Finished pods' addresses may already belong to a new pod.
	if pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		return p, owner
	}
	addrs := []string{pod.Status.PodIP}
	for _, ip := range pod.Status.PodIPs {
		addrs = append(addrs, ip.IP)
	}
	for _, s := range addrs {
		a, err := netip.ParseAddr(s)
		if err != nil {
			continue
		}
		if a = a.Unmap(); !slices.Contains(p.IPs, a) {
			p.IPs = append(p.IPs, a)
		}
	}
	return p, owner
}

// podSince is when the pod's network came up, as far as the pod says:
// PodReadyToStartContainers (the sandbox and its network exist), else the
// pod's start, else its creation. Times have second precision: rounded
// down, which only widens an overlap with a previous owner.
func podSince(pod *corev1.Pod) time.Time {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReadyToStartContainers && c.Status == corev1.ConditionTrue && !c.LastTransitionTime.IsZero() {
			return c.LastTransitionTime.Time
		}
	}
	if pod.Status.StartTime != nil && !pod.Status.StartTime.IsZero() {
		return pod.Status.StartTime.Time
	}
	return pod.CreationTimestamp.Time
}

// workload names the pod's controller as operators know it: a ReplicaSet's
// Deployment and a Job's CronJob through the owner's lookup; until that
// answers (and for other nodes' pods, which are not looked up), from the
// names (fallbackWorkload). owner is the lookup still pending.
func (k *Kubernetes) workload(pod *corev1.Pod) (kind, name string, owner types.UID) {
	ref := metav1.GetControllerOf(pod)
	if ref == nil {
		return "Pod", pod.Name, ""
	}
	if ref.Kind != "ReplicaSet" && ref.Kind != "Job" {
		return ref.Kind, ref.Name, ""
	}
	if w, ok := k.owners.get(ref.UID); ok {
		return w.kind, w.name, ""
	}
	kind, name = fallbackWorkload(ref.Kind, ref.Name, pod.Labels)
	// A pod whose owner's answer was forgotten (owners keeps so many) keeps
	// the workload it was given: a label must not flip back and forth.
	if cur, ok := k.history.Current(string(pod.UID)); ok && (cur.WorkloadKind != kind || cur.Workload != name) {
		return cur.WorkloadKind, cur.Workload, ""
	}
	if k.opts.NodeName == "" || pod.Spec.NodeName != k.opts.NodeName {
		return kind, name, ""
	}
	k.owners.request(pod.Namespace, *ref)
	return kind, name, ref.UID
}

// fallbackWorkload names a workload from names alone: a Deployment names its
// ReplicaSets <deployment>-<pod-template-hash> (the hash is a pod label); a
// CronJob names its Jobs <cronjob>-<scheduled time in minutes since 1970>.
func fallbackWorkload(kind, name string, labels map[string]string) (string, string) {
	switch kind {
	case "ReplicaSet":
		if h := labels["pod-template-hash"]; h != "" && strings.HasSuffix(name, "-"+h) {
			return "Deployment", strings.TrimSuffix(name, "-"+h)
		}
	case "Job":
		if i := strings.LastIndexByte(name, '-'); i > 0 && isScheduleSuffix(name[i+1:]) {
			return "CronJob", name[:i]
		}
	}
	return kind, name
}

// isScheduleSuffix: 8 to 10 digits, minutes since 1970 from 1980 to 20000.
func isScheduleSuffix(s string) bool {
	if len(s) < 8 || len(s) > 10 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// slim keeps what the source reads of pods, so a cluster-wide cache costs a
// few hundred bytes per pod.
func slim(obj any) (any, error) {
	switch o := obj.(type) {
	case *corev1.Pod:
		p := &corev1.Pod{ObjectMeta: slimMeta(o.ObjectMeta)}
		if h, ok := o.Labels["pod-template-hash"]; ok {
			p.Labels = map[string]string{"pod-template-hash": h}
		}
		p.Spec.NodeName, p.Spec.HostNetwork = o.Spec.NodeName, o.Spec.HostNetwork
		s := &o.Status
		p.Status = corev1.PodStatus{Phase: s.Phase, PodIP: s.PodIP, PodIPs: s.PodIPs, StartTime: s.StartTime}
		for _, c := range s.Conditions {
			if c.Type == corev1.PodReadyToStartContainers {
				p.Status.Conditions = []corev1.PodCondition{{Type: c.Type, Status: c.Status, LastTransitionTime: c.LastTransitionTime}}
			}
		}
		return p, nil
	}
	return obj, nil
}

func slimMeta(m metav1.ObjectMeta) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: m.Name, Namespace: m.Namespace, UID: m.UID, ResourceVersion: m.ResourceVersion,
		CreationTimestamp: m.CreationTimestamp, DeletionTimestamp: m.DeletionTimestamp, OwnerReferences: m.OwnerReferences}
}
