//go:build linux

package kubernetes

import (
	"bufio"
	"context"
	"encoding/json"
	"maps"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/netlens/netlens/tests/testenv"
)

// Least privilege, proven on the API server's own records: the agent,
// acting with the chart's ServiceAccount token, uses every grant of the
// chart's ClusterRole and nothing else, is never refused, and lists and
// watches only its own node's pods; everything else is refused to that
// account (secrets, single gets, writes, other kinds).
func TestAgentUsesExactlyItsGrants(t *testing.T) {
	ac := startAgentCluster(t, clusterOptions{})
	ctx := context.Background()
	ac.send(t, 10)
	testenv.Eventually(t, "the client's drops to be attributed", func() bool { return ac.podDrops(t, ac.clientPod, "egress") == 10 })

	role, err := ac.Admin.RbacV1().ClusterRoles().Get(ctx, release, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	granted := map[string]bool{}
	for _, r := range role.Rules {
		for _, g := range r.APIGroups {
			for _, res := range r.Resources {
				for _, v := range r.Verbs {
					granted[v+" "+g+"/"+res] = true
				}
			}
		}
	}
	used := map[string]bool{}
	for _, e := range ac.audit.read(t) {
		if !strings.HasPrefix(e.UserAgent, "netlens-agent") {
			continue
		}
		what := e.Verb + " " + e.ObjectRef.APIGroup + "/" + e.ObjectRef.Resource
		if e.ObjectRef.Subresource != "" {
			what += "/" + e.ObjectRef.Subresource
		}
		used[what] = true
		if e.ResponseStatus.Code >= 400 {
			t.Errorf("the agent was refused %s (%s): %d", what, e.RequestURI, e.ResponseStatus.Code)
		}
		if e.ObjectRef.Resource == "pods" {
			u, err := url.Parse(e.RequestURI)
			if err != nil || u.Query().Get("fieldSelector") != "spec.nodeName="+node {
				t.Errorf("the agent asked for pods beyond its node's: %s", e.RequestURI)
			}
		}
	}
	for g := range granted {
		if !used[g] {
			t.Errorf("the ClusterRole grants %q, which the agent never used: remove it", g)
		}
	}
	for u := range used {
		if !granted[u] {
			t.Errorf("the agent did %q, which the ClusterRole does not grant", u)
		}
	}
	t.Logf("granted and used: %v", slices.Sorted(maps.Keys(granted)))

	// Acting as the ServiceAccount: what it may not do is refused.
	token := ac.serviceAccountToken(t)
	sa, err := kubernetes.NewForConfig(ac.RESTConfig(token))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sa.CoreV1().Pods("").List(ctx, metav1.ListOptions{FieldSelector: "spec.nodeName=" + node}); err != nil {
		t.Errorf("the ServiceAccount cannot list its node's pods: %v", err)
	}
	for what, call := range map[string]func() error{
		"list secrets": func() error { _, err := sa.CoreV1().Secrets("").List(ctx, metav1.ListOptions{}); return err },
		"get the token secret": func() error {
			_, err := sa.CoreV1().Secrets(namespace).Get(ctx, "netlens-token", metav1.GetOptions{})
			return err
		},
		"get a pod": func() error {
			_, err := sa.CoreV1().Pods(ac.clientPod.Namespace).Get(ctx, ac.clientPod.Name, metav1.GetOptions{})
			return err
		},
		"delete a pod": func() error {
			return sa.CoreV1().Pods(ac.clientPod.Namespace).Delete(ctx, ac.clientPod.Name, metav1.DeleteOptions{DryRun: []string{metav1.DryRunAll}})
		},
		"get its node": func() error { _, err := sa.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{}); return err },
		"list configmaps": func() error {
			_, err := sa.CoreV1().ConfigMaps("").List(ctx, metav1.ListOptions{})
			return err
		},
	} {
		if err := call(); !apierrors.IsForbidden(err) {
			t.Errorf("the ServiceAccount may %s (err %v), want 403 Forbidden", what, err)
		}
	}
	// And the whole matrix, asked of the authorizer.
	for _, res := range []string{"/pods", "apps/replicasets", "batch/jobs", "/secrets", "/configmaps", "/nodes", "/services",
		"/namespaces", "networking.k8s.io/networkpolicies", "/serviceaccounts", "/pods/exec", "/pods/status", "/serviceaccounts/token"} {
		for _, verb := range []string{"get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"} {
			group, resource, _ := strings.Cut(res, "/")
			resource, sub, _ := strings.Cut(resource, "/")
			sar, err := ac.Admin.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{
				Spec: authorizationv1.SubjectAccessReviewSpec{User: agentUser, Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + namespace, "system:authenticated"},
					ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: verb, Group: group, Resource: resource, Subresource: sub}}}, metav1.CreateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			key := verb + " " + group + "/" + resource
			if sub != "" {
				key += "/" + sub
			}
			if sar.Status.Allowed != granted[key] {
				t.Errorf("%s: allowed=%v, want %v", key, sar.Status.Allowed, granted[key])
			}
		}
	}
}

func (ac *agentCluster) serviceAccountToken(t *testing.T) string {
	t.Helper()
	tr, err := ac.Admin.CoreV1().ServiceAccounts(namespace).CreateToken(context.Background(), release, &authenticationv1.TokenRequest{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return tr.Status.Token
}

// auditEvent is what the tests read of an audit.k8s.io/v1 Event.
type auditEvent struct {
	Stage      string `json:"stage"`
	RequestURI string `json:"requestURI"`
	Verb       string `json:"verb"`
	UserAgent  string `json:"userAgent"`
	User       struct {
		Username string `json:"username"`
	} `json:"user"`
	ObjectRef struct {
		Resource    string `json:"resource"`
		Subresource string `json:"subresource"`
		APIGroup    string `json:"apiGroup"`
	} `json:"objectRef"`
	ResponseStatus struct {
		Code int `json:"code"`
	} `json:"responseStatus"`
	StageTimestamp metav1.MicroTime `json:"stageTimestamp"`
}

// read returns the log's events of its user.
func (a *auditLog) read(t *testing.T) []auditEvent {
	t.Helper()
	f, err := os.Open(a.path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []auditEvent
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var e auditEvent
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("audit log: %v", err)
		}
		if e.User.Username == a.user {
			out = append(out, e)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
