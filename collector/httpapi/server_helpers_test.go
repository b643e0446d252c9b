package httpapi

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	promconfig "github.com/prometheus/common/config"

	"github.com/capability-exporter/capability_exporter/collector/source"
	"github.com/capability-exporter/capability_exporter/config"
	"github.com/capability-exporter/capability_exporter/triggers"
)

// stubAnswer is one canned HTTP answer.
type stubAnswer struct {
	status int
	body   string
	delay  time.Duration
	header map[string]string
}

// apiStub is an HTTP server answering API paths with canned answers, in
// order per path (the last one repeats), recording every request and the
// most requests it had in flight at once.
type apiStub struct {
	*httptest.Server
	mu       sync.Mutex
	answers  map[string][]stubAnswer
	served   map[string]int
	requests []*http.Request
	inFlight atomic.Int32
	maxIn    atomic.Int32
	handle   func(w http.ResponseWriter, r *http.Request) bool // answers first when set and returning true
}

func newAPIStub(t *testing.T, answers map[string][]stubAnswer) *apiStub {
	s := &apiStub{answers: answers, served: map[string]int{}}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := s.inFlight.Add(1)
		defer s.inFlight.Add(-1)
		for {
			m := s.maxIn.Load()
			if n <= m || s.maxIn.CompareAndSwap(m, n) {
				break
			}
		}
		_ = r.ParseForm()
		s.mu.Lock()
		s.requests = append(s.requests, r)
		list := s.answers[r.URL.Path]
		i := min(s.served[r.URL.Path], len(list)-1)
		s.served[r.URL.Path]++
		s.mu.Unlock()
		if s.handle != nil && s.handle(w, r) {
			return
		}
		if len(list) == 0 {
			http.NotFound(w, r)
			return
		}
		a := list[i]
		select {
		case <-time.After(a.delay):
		case <-r.Context().Done():
			return
		}
		for k, v := range a.header {
			w.Header().Set(k, v)
		}
		if strings.HasPrefix(a.body, "{") {
			w.Header().Set("Content-Type", "application/json")
		}
		w.WriteHeader(a.status)
		io.WriteString(w, a.body)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *apiStub) count(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.served[path]
}

func (s *apiStub) lastRequest() *http.Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[len(s.requests)-1]
}

// testHTTPSource is a kind's source section as config.Parse leaves it: the
// defaults, the kind's default selectors, and the url.
func testHTTPSource(t *testing.T, kind, rawURL string, edit func(*config.HTTPSource)) *config.HTTPSource {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.DefaultHTTPSource()
	cfg.URL = promconfig.URL{URL: u}
	cfg.Timeout = config.Duration(2 * time.Second)
	cfg.Selectors = config.DefaultSelectors(kind)
	if edit != nil {
		edit(&cfg)
	}
	return &cfg
}

var discardLogger = slog.New(slog.DiscardHandler)

// fixedNow is the evaluation time of unit tests: a Tuesday afternoon.
var fixedNow = time.Date(2026, 3, 10, 14, 7, 31, 0, time.UTC)

func reasons(res source.Result) []source.Reason {
	var out []source.Reason
	for _, e := range res.Errors {
		out = append(out, e.Reason)
	}
	return out
}

// queryOutcome is what a server answers one instant query (in order, the
// last repeating) and what the source must make of it. The Prometheus and
// Loki sources are held to tables of the same shape.
type queryOutcome struct {
	name     string
	answers  []stubAnswer
	empty    triggers.Empty
	want     float64 // when known
	unknown  string  // substring of the reason when unknown
	reasons  []source.Reason
	up       bool
	requests int
	timeout  time.Duration
}

// testQueryOutcomes serves each case's answers at path and checks what
// collect, asking one query under the key "s" of a source built against the
// stub with edit applied, makes of them. check, if set, looks at the request
// the source sent.
func testQueryOutcomes(t *testing.T, path string, cases []queryOutcome,
	collect func(t *testing.T, url string, edit func(*config.HTTPSource), empty triggers.Empty) source.Result,
	check func(t *testing.T, r *http.Request)) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			stub := newAPIStub(t, map[string][]stubAnswer{path: tc.answers})
			res := collect(t, stub.URL, func(c *config.HTTPSource) {
				if tc.timeout > 0 {
					c.Timeout = config.Duration(tc.timeout)
				}
			}, tc.empty)
			v := res.Values["s"]
			switch {
			case tc.unknown == "" && (!v.Known || v.Number != tc.want):
				t.Errorf("value = %+v, want known %v", v, tc.want)
			case tc.unknown != "" && (v.Known || !strings.Contains(v.Reason, tc.unknown)):
				t.Errorf("value = %+v, want unknown with reason containing %q", v, tc.unknown)
			}
			if got := reasons(res); !slices.Equal(got, tc.reasons) {
				t.Errorf("error reasons = %v, want %v (%v)", got, tc.reasons, res.Errors)
			}
			if res.Up != tc.up {
				t.Errorf("up = %v, want %v", res.Up, tc.up)
			}
			if n := stub.count(path); n != tc.requests {
				t.Errorf("requests = %d, want %d", n, tc.requests)
			}
			if check != nil {
				check(t, stub.lastRequest())
			}
		})
	}
}
