//go:build e2e && perf

package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// perfProxy is a counting reverse proxy in front of a server (kube-apiserver
// or Prometheus): it counts the bytes of each response body as the server
// sent it (compressed where the server compressed it) and records each
// request, so a figure says what crossed the wire, whoever the client.
// Watches stream through it as they arrive.
type perfProxy struct {
	URL    string
	CAFile string // the proxy's own certificate, when it serves TLS

	bytes   atomic.Int64 // response body bytes received from the server
	counter kubeRequestCounter

	mu       sync.Mutex
	requests []*perfRequest
}

// perfRequest is one request through the proxy. For Prometheus' API, Query
// holds the PromQL, whether it came in the URL or a POST form, and Window a
// range query's span.
type perfRequest struct {
	Method, Path, Query string
	RawQuery            string // the URL's query, as sent
	Window              time.Duration
	Status              int
	Start               time.Time
	bytes               atomic.Int64
	end                 atomic.Int64 // unix nanos when the body was read to its end or closed
}

// Duration is the time from the request to the last byte of its answer.
func (r *perfRequest) Duration() time.Duration {
	return time.Unix(0, r.end.Load()).Sub(r.Start)
}

// Bytes is the size of the answer's body.
func (r *perfRequest) Bytes() int64 { return r.bytes.Load() }

// newPerfProxy serves on a free loopback port and forwards to target; caFile,
// when set, is the CA the target's TLS certificate is checked against. With
// serveTLS the proxy itself serves HTTPS (and HTTP/2, as the API server
// does), since client-go sends no bearer token to a plain-http server.
func newPerfProxy(t testing.TB, target, caFile string, serveTLS bool) *perfProxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	// The proxy forwards the client's Accept-Encoding and must not undo the
	// server's compression: the bytes counted are the bytes sent.
	tr.DisableCompression = true
	tr.MaxIdleConnsPerHost = 100
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			t.Fatal(err)
		}
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(pem)
		tr.TLSClientConfig = &tls.Config{RootCAs: pool}
	}
	p := &perfProxy{}
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(u)
			r.Out.Host = u.Host
		},
		Transport:     tr,
		FlushInterval: -1, // watches stream event by event
		ModifyResponse: func(resp *http.Response) error {
			rec, _ := resp.Request.Context().Value(perfRequestKey{}).(*perfRequest)
			if rec != nil {
				rec.Status = resp.StatusCode
				resp.Body = &perfCountingBody{ReadCloser: resp.Body, rec: rec, total: &p.bytes}
			}
			return nil
		},
		// A client that ends a watch is no error of the server's.
		ErrorLog: log.New(io.Discard, "", 0),
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &perfRequest{Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Start: time.Now()}
		params := perfPromParams(r)
		rec.Query = params.Get("query")
		start, err1 := strconv.ParseFloat(params.Get("start"), 64)
		end, err2 := strconv.ParseFloat(params.Get("end"), 64)
		if err1 == nil && err2 == nil {
			rec.Window = time.Duration((end - start) * float64(time.Second)).Round(time.Minute)
		}
		p.counter.record(r)
		p.mu.Lock()
		p.requests = append(p.requests, rec)
		p.mu.Unlock()
		rp.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), perfRequestKey{}, rec)))
		rec.end.CompareAndSwap(0, time.Now().UnixNano())
	}))
	if serveTLS {
		srv.EnableHTTP2 = true
		srv.StartTLS()
		p.CAFile = filepath.Join(t.TempDir(), "proxy-ca.crt")
		cert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
		if err := os.WriteFile(p.CAFile, cert, 0o644); err != nil {
			t.Fatal(err)
		}
	} else {
		srv.Start()
	}
	p.URL = srv.URL
	// Close would wait for the watches still open; the clients are gone.
	t.Cleanup(srv.CloseClientConnections)
	return p
}

type perfRequestKey struct{}

// Bytes returns the response body bytes received so far.
func (p *perfProxy) Bytes() int64 { return p.bytes.Load() }

// Requests returns the requests received so far.
func (p *perfProxy) Requests() []*perfRequest {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.requests)
}

// Counts returns the Kubernetes requests by kind: lists, watches, streaming
// lists, /version.
func (p *perfProxy) Counts() kubeRequestCounts { return p.counter.get() }

// perfCountingBody counts a response body into its request and the total
// as the client reads it.
type perfCountingBody struct {
	io.ReadCloser
	rec   *perfRequest
	total *atomic.Int64
}

func (b *perfCountingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.rec.bytes.Add(int64(n))
	b.total.Add(int64(n))
	if err == io.EOF {
		b.rec.end.CompareAndSwap(0, time.Now().UnixNano())
	}
	return n, err
}

// perfPromParams returns the parameters of a Prometheus API request, from
// the URL and a POST form, leaving the body readable for the proxy.
func perfPromParams(r *http.Request) url.Values {
	v := r.URL.Query()
	if r.Method != http.MethodPost || r.Body == nil || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		return v
	}
	body, err := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	if form, err2 := url.ParseQuery(string(body)); err == nil && err2 == nil {
		for k, vs := range form {
			v[k] = append(v[k], vs...)
		}
	}
	return v
}

// String summarises the proxy's traffic for logs.
func (p *perfProxy) String() string {
	c := p.Counts()
	return fmt.Sprintf("%d bytes; lists %d, watches %d, streaming lists %d, /version %d, other %d",
		p.Bytes(), c.lists, c.watches, c.watchLists, c.version, c.other)
}
