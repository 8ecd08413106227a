package metadata

import (
	"context"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
)

// Owner lookups: how long one may take, when a failed one is tried again,
// and how many answers are kept (all are forgotten past that; pods that
// come later ask again).
const (
	ownerTimeout    = 10 * time.Second
	ownerRetry      = 30 * time.Second
	maxOwnerAnswers = 4096
)

// workloadName is a workload as the workload label names it.
type workloadName struct{ kind, name string }

// ownerRef is a ReplicaSet or Job that controls a pod.
type ownerRef struct {
	namespace string
	ref       metav1.OwnerReference
}

// owners finds the controller of the ReplicaSets and Jobs that own this
// node's pods (a ReplicaSet's Deployment, a Job's CronJob) by getting each
// one once when a pod first names it. Watching every ReplicaSet and Job of
// the cluster instead would make every agent cache them all and receive
// every change of their status; an agent needs only its own pods' owners.
// Lookups run on one goroutine, never in an informer's event handler.
type owners struct {
	client kubernetes.Interface
	// answered is called after an answer is stored, errored after a lookup
	// failed for a reason other than the owner being gone.
	answered func(uid types.UID, w workloadName)
	errored  func(what string, err error)
	// retry is how long after a failed lookup it is tried again; max is
	// how many answers are kept.
	retry time.Duration
	max   int

	mu       sync.Mutex
	answers  map[types.UID]workloadName
	asked    map[types.UID]bool
	queue    []ownerRef
	inFlight bool
	wake     chan struct{}
}

func newOwners(client kubernetes.Interface) *owners {
	return &owners{client: client, retry: ownerRetry, max: maxOwnerAnswers, answers: map[types.UID]workloadName{}, asked: map[types.UID]bool{}, wake: make(chan struct{}, 1)}
}

// get returns the workload the owner uid belongs to, if it has been looked up.
func (o *owners) get(uid types.UID) (workloadName, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	w, ok := o.answers[uid]
	return w, ok
}

// request asks for ref's controller, once per owner.
func (o *owners) request(namespace string, ref metav1.OwnerReference) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.asked[ref.UID] {
		return
	}
	o.asked[ref.UID] = true
	o.queue = append(o.queue, ownerRef{namespace: namespace, ref: ref})
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// idle reports whether no lookup is waiting or running.
func (o *owners) idle() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.queue) == 0 && !o.inFlight
}

// run answers requests until stop is closed.
func (o *owners) run(stop <-chan struct{}) {
	for {
		o.mu.Lock()
		if len(o.queue) == 0 {
			o.mu.Unlock()
			select {
			case <-stop:
				return
			case <-o.wake:
			}
			continue
		}
		req := o.queue[0]
		o.queue = o.queue[1:]
		o.inFlight = true
		o.mu.Unlock()

		w, found, err := o.lookup(req)
		o.mu.Lock()
		o.inFlight = false
		switch {
		case err != nil:
			// Asked again later, by the next pod of this owner or the retry.
			delete(o.asked, req.ref.UID)
		case found:
			if len(o.answers) >= o.max {
				o.answers, o.asked = map[types.UID]workloadName{}, map[types.UID]bool{req.ref.UID: true}
			}
			o.answers[req.ref.UID] = w
		}
		o.mu.Unlock()
		switch {
		case err != nil:
			o.errored(map[string]string{"ReplicaSet": "replicasets", "Job": "jobs"}[req.ref.Kind], err)
			time.AfterFunc(o.retry, func() {
				select {
				case <-stop:
				default:
					o.request(req.namespace, req.ref)
				}
			})
		case found:
			o.answered(req.ref.UID, w)
		}
	}
}

// lookup gets the owner and names its controller (or the owner itself if
// nothing controls it). found is false when the owner is gone or is
// another object of the same name: its pods keep the name-based workload.
func (o *owners) lookup(req ownerRef) (w workloadName, found bool, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), ownerTimeout)
	defer cancel()
	var obj metav1.Object
	switch req.ref.Kind {
	case "ReplicaSet":
		rs, e := o.client.AppsV1().ReplicaSets(req.namespace).Get(ctx, req.ref.Name, metav1.GetOptions{})
		obj, err = rs, e
	case "Job":
		job, e := o.client.BatchV1().Jobs(req.namespace).Get(ctx, req.ref.Name, metav1.GetOptions{})
		obj, err = job, e
	default:
		return workloadName{req.ref.Kind, req.ref.Name}, true, nil
	}
	if apierrors.IsNotFound(err) {
		return w, false, nil
	}
	if err != nil {
		return w, false, err
	}
	if obj.GetUID() != req.ref.UID {
		return w, false, nil
	}
	if up := metav1.GetControllerOf(obj); up != nil {
		return workloadName{up.Kind, up.Name}, true, nil
	}
	return workloadName{req.ref.Kind, req.ref.Name}, true, nil
}
