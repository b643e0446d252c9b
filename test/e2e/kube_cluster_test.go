//go:build e2e

package e2e

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// kubeCluster is a real kube-apiserver on etcd, both on loopback ports, with
// an admin token (group system:masters) and a throwaway service account
// signing key so that service accounts can get real tokens. There is no
// controller manager and no kubelet: objects are stored and watched, never
// reconciled, which is all the exporter's Kubernetes source reads.
type kubeCluster struct {
	URL    string
	CAFile string
	Admin  *rest.Config
	Client kubernetes.Interface
	dir    string
	// The two servers, for tests that stop, restart or pause them.
	Etcd, APIServer *server
}

// kubeAPIServerBinary finds kube-apiserver: $KUBE_APISERVER, else the binary
// hack/build-kube-apiserver.sh caches (it builds it first if needed, about
// 8 minutes on 2 cores; .ci/run does that before the tests).
func kubeAPIServerBinary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("KUBE_APISERVER"); p != "" {
		return p
	}
	out, err := exec.Command("bash", filepath.Join(repoRoot(), "hack", "build-kube-apiserver.sh")).Output()
	if err != nil {
		t.Fatalf("kube-apiserver: set KUBE_APISERVER, or run hack/build-kube-apiserver.sh: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// startKubeCluster starts etcd and kube-apiserver for the test and stops
// both when it ends.
func startKubeCluster(t *testing.T) *kubeCluster {
	t.Helper()
	etcdBin := requireBinary(t, "etcd", "ETCD", "etcd-server")
	apiBin := kubeAPIServerBinary(t)
	dir := t.TempDir()

	etcd := startServer(t, serverSpec{
		Name:  "etcd",
		Bin:   etcdBin,
		Ports: 2, // client, peer
		Args: func(ports []int) []string {
			client, peer := fmt.Sprintf("http://127.0.0.1:%d", ports[0]), fmt.Sprintf("http://127.0.0.1:%d", ports[1])
			return []string{"--name=e2e", "--data-dir=" + filepath.Join(dir, "etcd"),
				"--listen-client-urls=" + client, "--advertise-client-urls=" + client,
				"--listen-peer-urls=" + peer, "--initial-advertise-peer-urls=" + peer,
				"--initial-cluster=e2e=" + peer, "--log-level=warn"}
		},
		Ready:        httpReady("/health"),
		ReadyTimeout: 30 * time.Second,
	})
	etcdURL := etcd.PortURL(0)

	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	saKey := writeFile(t, dir, "sa.key", string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})))
	token := kubeRandomToken(t)
	tokens := writeFile(t, dir, "tokens.csv", token+",admin,admin-uid,system:masters\n")

	certDir := filepath.Join(dir, "certs")
	caFile := filepath.Join(certDir, "apiserver.crt")
	const issuer = "https://kubernetes.default.svc.cluster.local"
	// The webshop's pod templates would not pass its restricted namespaces'
	// Pod Security level; the API server warns, and the test need not.
	adminConfig := func(port int) *rest.Config {
		return &rest.Config{Host: fmt.Sprintf("https://127.0.0.1:%d", port), BearerToken: token,
			TLSClientConfig: rest.TLSClientConfig{CAFile: caFile}, WarningHandler: rest.NoWarnings{}}
	}
	apiServer := startServer(t, serverSpec{
		Name:  "kube-apiserver",
		Bin:   apiBin,
		Ports: 1,
		Args: func(ports []int) []string {
			return []string{"--etcd-servers=" + etcdURL,
				"--bind-address=127.0.0.1", fmt.Sprintf("--secure-port=%d", ports[0]),
				"--advertise-address=127.0.0.1", "--endpoint-reconciler-type=none",
				"--cert-dir=" + certDir,
				"--token-auth-file=" + tokens, "--authorization-mode=RBAC",
				"--service-account-issuer=" + issuer, "--api-audiences=" + issuer,
				"--service-account-key-file=" + saKey, "--service-account-signing-key-file=" + saKey,
				"--service-cluster-ip-range=10.96.0.0/16",
				"--allow-privileged=true", // so the webshop can declare a privileged container
				"--profiling=false", "--v=0"}
		},
		// Ready once its self-signed certificate is written and /readyz says ok.
		Ready: func(ports []int) bool {
			if _, err := os.Stat(caFile); err != nil {
				return false
			}
			rc := adminConfig(ports[0])
			rc.Timeout = 5 * time.Second
			client, err := kubernetes.NewForConfig(rc)
			if err != nil {
				return false
			}
			body, err := client.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(context.Background())
			return err == nil && strings.TrimSpace(string(body)) == "ok"
		},
		ReadyTimeout: 3 * time.Minute,
	})

	c := &kubeCluster{URL: fmt.Sprintf("https://127.0.0.1:%d", apiServer.Ports[0]), dir: dir, CAFile: caFile,
		Etcd: etcd, APIServer: apiServer}
	c.Admin = adminConfig(apiServer.Ports[0])
	c.Client = kubernetes.NewForConfigOrDie(c.Admin)
	return c
}

// kubeStartProcess runs a server whose ports the caller picked for the
// test's lifetime, through the one launcher.
func kubeStartProcess(t *testing.T, name, bin string, args ...string) *server {
	t.Helper()
	return startServer(t, serverSpec{Name: name, Bin: bin, Args: func([]int) []string { return args }})
}

func kubeRandomToken(t testing.TB) string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// ServiceAccountConfig returns a REST config that authenticates as the
// service account with a token from the TokenRequest API, the way a pod's
// projected token does.
func (c *kubeCluster) ServiceAccountConfig(t testing.TB, namespace, name string) *rest.Config {
	t.Helper()
	tr, err := c.Client.CoreV1().ServiceAccounts(namespace).CreateToken(context.Background(), name,
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: kubePtr[int64](3600)}},
		metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("token for %s/%s: %v", namespace, name, err)
	}
	return &rest.Config{Host: c.URL, BearerToken: tr.Status.Token, TLSClientConfig: rest.TLSClientConfig{CAFile: c.CAFile}}
}

// WriteKubeconfig writes a kubeconfig for rc with the given context name
// and returns its path, for configs that name sources.kubernetes.kubeconfig.
func (c *kubeCluster) WriteKubeconfig(t testing.TB, rc *rest.Config, contextName string) string {
	t.Helper()
	kc := clientcmdapi.NewConfig()
	kc.Clusters["e2e"] = &clientcmdapi.Cluster{Server: rc.Host, CertificateAuthority: rc.CAFile}
	kc.AuthInfos[contextName] = &clientcmdapi.AuthInfo{Token: rc.BearerToken}
	kc.Contexts[contextName] = &clientcmdapi.Context{Cluster: "e2e", AuthInfo: contextName}
	// The current context is a decoy: the config must select contextName.
	kc.Contexts["decoy"] = &clientcmdapi.Context{Cluster: "e2e", AuthInfo: "nobody"}
	kc.AuthInfos["nobody"] = &clientcmdapi.AuthInfo{Token: "not-a-token"}
	kc.CurrentContext = "decoy"
	path := filepath.Join(c.dir, contextName+".kubeconfig")
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// Metric returns the sum of a counter of the API server's /metrics over the
// series whose labels include every label given.
func (c *kubeCluster) Metric(t testing.TB, name string, labels map[string]string) float64 {
	t.Helper()
	body, err := c.Client.Discovery().RESTClient().Get().AbsPath("/metrics").DoRaw(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, l := range metricLines(string(body), name) {
		match := true
		for k, v := range labels {
			if !strings.Contains(l, k+`="`+v+`"`) {
				match = false
				break
			}
		}
		if match {
			var v float64
			if _, err := fmt.Sscanf(l[strings.LastIndexByte(l, ' ')+1:], "%g", &v); err == nil {
				sum += v
			}
		}
	}
	return sum
}

func kubePtr[T any](v T) *T { return &v }
