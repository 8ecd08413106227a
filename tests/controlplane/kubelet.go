//go:build linux

package controlplane

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// What the controllers and kubelets that do not run here would do, done by
// the caller's hand through the API.

// CreateNamespace creates a namespace with labels and its default
// ServiceAccount (the controller-manager's job), which the ServiceAccount
// admission plugin needs before it admits a pod.
func (c *ControlPlane) CreateNamespace(ctx context.Context, name string, labels map[string]string) error {
	_, err := c.Admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("namespace %s: %w", name, err)
	}
	_, err = c.Admin.CoreV1().ServiceAccounts(name).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default"}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("namespace %s: default ServiceAccount: %w", name, err)
	}
	return nil
}

// DeleteNamespace deletes a namespace and everything the tests put in it,
// and finalizes it, as the namespace controller would.
func (c *ControlPlane) DeleteNamespace(ctx context.Context, name string) error {
	core := c.Admin.CoreV1()
	zero := int64(0)
	del := metav1.DeleteOptions{GracePeriodSeconds: &zero}
	if err := core.Pods(name).DeleteCollection(ctx, del, metav1.ListOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("pods of %s: %w", name, err)
	}
	if err := core.ServiceAccounts(name).DeleteCollection(ctx, del, metav1.ListOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("service accounts of %s: %w", name, err)
	}
	if err := core.Namespaces().Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("namespace %s: %w", name, err)
	}
	ns, err := core.Namespaces().Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	} else if err != nil {
		return err
	}
	ns.Spec.Finalizers = nil
	if _, err := core.Namespaces().Finalize(ctx, ns, metav1.UpdateOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("finalizing namespace %s: %w", name, err)
	}
	return nil
}

// RegisterNode creates the Node object a kubelet would register, with its
// internal address (what kube-router takes for the node's own address).
func (c *ControlPlane) RegisterNode(ctx context.Context, name string, ip netip.Addr) error {
	node, err := c.Admin.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{
		Name: name, Labels: map[string]string{"kubernetes.io/hostname": name, "kubernetes.io/os": "linux"}}}, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("node %s: %w", name, err)
	}
	node.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: ip.String()}, {Type: corev1.NodeHostName, Address: name}}
	node.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, LastHeartbeatTime: metav1.Now(), LastTransitionTime: metav1.Now(), Reason: "KubeletReady"}}
	if _, err := c.Admin.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("node %s status: %w", name, err)
	}
	return nil
}

// PodSpec is what RunPod needs of a pod.
type PodSpec struct {
	Namespace, Name string
	Labels          map[string]string
	// Node is the node the pod is bound to; HostIP that node's address.
	Node   string
	HostIP netip.Addr
	// IPs are the pod's addresses, the first one its primary.
	IPs []netip.Addr
	// Owner, when set, is the pod's controller.
	Owner *metav1.OwnerReference
}

// RunPod creates a pod bound to its node and writes the status its kubelet
// would once the sandbox and its network are up: phase Running, its
// addresses and the node's, PodReadyToStartContainers and Ready since now.
// It returns the pod as the API server stored it.
func (c *ControlPlane) RunPod(ctx context.Context, s PodSpec) (*corev1.Pod, error) {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: s.Namespace, Name: s.Name, Labels: s.Labels}, Spec: PauseSpec()}
	pod.Spec.NodeName = s.Node
	if s.Owner != nil {
		pod.OwnerReferences = []metav1.OwnerReference{*s.Owner}
	}
	created, err := c.Admin.CoreV1().Pods(s.Namespace).Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("pod %s/%s: %w", s.Namespace, s.Name, err)
	}
	now := metav1.NewTime(time.Now())
	st := &created.Status
	st.Phase = corev1.PodRunning
	st.StartTime = &now
	if s.HostIP.IsValid() {
		st.HostIP = s.HostIP.String()
		st.HostIPs = []corev1.HostIP{{IP: s.HostIP.String()}}
	}
	for i, ip := range s.IPs {
		if i == 0 {
			st.PodIP = ip.String()
		}
		st.PodIPs = append(st.PodIPs, corev1.PodIP{IP: ip.String()})
	}
	for _, t := range []corev1.PodConditionType{corev1.PodReadyToStartContainers, corev1.PodInitialized, corev1.ContainersReady, corev1.PodReady, corev1.PodScheduled} {
		st.Conditions = append(st.Conditions, corev1.PodCondition{Type: t, Status: corev1.ConditionTrue, LastTransitionTime: now})
	}
	st.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", Ready: true, Image: "registry.k8s.io/pause:3.10",
		State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}}}}
	updated, err := c.Admin.CoreV1().Pods(s.Namespace).UpdateStatus(ctx, created, metav1.UpdateOptions{})
	if err != nil {
		return nil, fmt.Errorf("pod %s/%s status: %w", s.Namespace, s.Name, err)
	}
	return updated, nil
}

// DeletePod deletes a pod at once, as a kubelet confirms a pod whose
// containers are gone.
func (c *ControlPlane) DeletePod(ctx context.Context, namespace, name string) error {
	zero := int64(0)
	err := c.Admin.CoreV1().Pods(namespace).Delete(ctx, name, metav1.DeleteOptions{GracePeriodSeconds: &zero})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting pod %s/%s: %w", namespace, name, err)
	}
	return nil
}

// PauseSpec is the spec of the lab's pods: one pause container that meets
// the restricted Pod Security level, so that they are admitted in
// namespaces that enforce it, and no service-account token.
func PauseSpec() corev1.PodSpec {
	return corev1.PodSpec{
		AutomountServiceAccountToken: ptr.To(false),
		Containers: []corev1.Container{{Name: "app", Image: "registry.k8s.io/pause:3.10",
			SecurityContext: &corev1.SecurityContext{AllowPrivilegeEscalation: ptr.To(false),
				Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}}}},
		SecurityContext: &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true), RunAsUser: ptr.To(int64(65535)),
			SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
	}
}
