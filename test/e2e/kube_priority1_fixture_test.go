//go:build e2e

package e2e

import (
	"context"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
)

// The status the kubelet and the controllers would write, which no
// controller writes beside the e2e API server: nodes' Ready, Deployments'
// Available and Progressing, Argo CD Applications' sync and health.

func kubeSetNodeReady(t *testing.T, k kubernetes.Interface, name string, ready corev1.ConditionStatus) {
	t.Helper()
	ctx := context.Background()
	n, err := k.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	now := metav1.Now()
	n.Status.Conditions = []corev1.NodeCondition{
		{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionFalse, LastHeartbeatTime: now, LastTransitionTime: now, Reason: "KubeletHasSufficientMemory"},
		{Type: corev1.NodeReady, Status: ready, LastHeartbeatTime: now, LastTransitionTime: now, Reason: "KubeletReady"},
	}
	if _, err := k.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("node %s status: %v", name, err)
	}
}

// kubeSetDeploymentHealth writes Available and Progressing as the Deployment
// controller does: a healthy rollout, or one stuck at its progress deadline.
func kubeSetDeploymentHealth(t *testing.T, k kubernetes.Interface, ns, name string, healthy bool) {
	t.Helper()
	ctx := context.Background()
	d, err := k.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	now := metav1.Now()
	available := appsv1.DeploymentCondition{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue, Reason: "MinimumReplicasAvailable",
		LastUpdateTime: now, LastTransitionTime: now}
	progressing := appsv1.DeploymentCondition{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionTrue, Reason: "NewReplicaSetAvailable",
		LastUpdateTime: now, LastTransitionTime: now}
	if !healthy {
		available.Status, available.Reason = corev1.ConditionFalse, "MinimumReplicasUnavailable"
		progressing.Status, progressing.Reason = corev1.ConditionFalse, "ProgressDeadlineExceeded"
	}
	d.Status.Conditions = []appsv1.DeploymentCondition{available, progressing}
	if _, err := k.AppsV1().Deployments(ns).UpdateStatus(ctx, d, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("deployment %s/%s status: %v", ns, name, err)
	}
}

var argoApplications = schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "applications"}

// kubeCreateArgoApp creates an Argo CD Application in argocd, retrying
// while its freshly created CRD is not served yet, and sets its status.
func kubeCreateArgoApp(t *testing.T, c *kubeCluster, name, sync, health string) {
	t.Helper()
	dyn := dynamic.NewForConfigOrDie(c.Admin)
	kubeCreateCustom(t, dyn, "argoproj.io/v1alpha1", "Application", "applications", "argocd", name, map[string]any{
		"project": "default", "destination": map[string]any{"server": "https://kubernetes.default.svc", "namespace": "shop-" + name},
		"source": map[string]any{"repoURL": "https://git.shop.example/deploy.git", "path": name, "targetRevision": "main"}})
	kubeSetArgoAppStatus(t, dyn, name, sync, health)
}

func kubeSetArgoAppStatus(t *testing.T, dyn dynamic.Interface, name, sync, health string) {
	t.Helper()
	r := dyn.Resource(argoApplications).Namespace("argocd")
	ctx := context.Background()
	deadline := time.Now().Add(10 * time.Second)
	for {
		u, err := r.Get(ctx, name, metav1.GetOptions{})
		if err == nil {
			_ = unstructured.SetNestedField(u.Object, sync, "status", "sync", "status")
			_ = unstructured.SetNestedField(u.Object, health, "status", "health", "status")
			if _, err = r.Update(ctx, u, metav1.UpdateOptions{}); err == nil {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("status of application %s: %v", name, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
