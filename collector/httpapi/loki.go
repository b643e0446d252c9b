package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/prometheus/common/model"

	"github.com/capability-exporter/capability_exporter/collector/source"
	"github.com/capability-exporter/capability_exporter/config"
	"github.com/capability-exporter/capability_exporter/triggers"
)

// Loki answers loki signals: LogQL metric queries on Loki's instant
// query endpoint, and reachability. Loki's documented errors arrive as plain
// text with the status saying what went wrong: 400 for a query Loki refuses
// (syntax, limits; never retried), 429 when the tenant sends too many
// queries, 504 when the query timed out.
type Loki struct {
	server *httpServer
	logger *slog.Logger
	now    func() time.Time
}

// NewLoki returns the Loki source for cfg.
func NewLoki(cfg *config.HTTPSource, logger *slog.Logger, opts Options) (*Loki, error) {
	server, err := newHTTPServer("loki", cfg, opts)
	if err != nil {
		return nil, err
	}
	return &Loki{server: server, logger: logger, now: time.Now}, nil
}

// Close releases idle connections when a reload replaces the source.
func (s *Loki) Close() { s.server.close() }

// Collect answers every loki signal of one evaluation, each distinct query
// once, all evaluated at the same moment.
func (s *Loki) Collect(ctx context.Context, req source.Request) source.Result {
	now := s.now()
	c := s.server.newCollect(req)
	ago := map[agoKey][]source.SignalRequest{}
	for _, sr := range req.Signals {
		switch l := sr.Spec.Loki; {
		case l == nil:
			c.notOurs(sr)
		case l.Query != "" && l.Ago > 0:
			if q, ok := c.scoped(sr, l.Query); ok {
				k := agoKey{q, time.Duration(l.Ago)}
				ago[k] = append(ago[k], sr)
			}
		case l.Query != "":
			if q, ok := c.scoped(sr, l.Query); ok {
				c.queries[q] = append(c.queries[q], sr)
			}
		case l.Reachable:
			c.reachable = append(c.reachable, sr)
		}
	}
	c.sendQueries("LogQL query", func(r *run, what, q string, srs []source.SignalRequest) { s.instant(ctx, r, what, q, srs, now) })
	s.sendAgo(ctx, c, ago, now)
	return c.probeAndWait(ctx, s.probe)
}

// maxLokiBody bounds what the exporter reads of one answer; a metric query
// that is meant to give one number is far smaller.
const maxLokiBody = 16 << 20

// get sends a GET to path and returns the 2xx body. A non-2xx status is an
// error that classify reads from the exchange.
func (s *Loki) get(ctx context.Context, path string, params url.Values) ([]byte, error) {
	u := s.server.url + path
	if len(params) > 0 {
		u += "?" + params.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := s.server.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxLokiBody))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		return nil, errors.New(resp.Status)
	}
	return body, nil
}

// lokiQueryResponse is the documented answer of /loki/api/v1/query.
type lokiQueryResponse struct {
	Status string `json:"status"`
	Data   struct {
		ResultType string          `json:"resultType"`
		Result     json.RawMessage `json:"result"`
	} `json:"data"`
}

func (s *Loki) instant(ctx context.Context, r *run, what, q string, srs []source.SignalRequest, now time.Time) {
	if val, ok := s.query(ctx, r, what, q, srs, now); ok {
		setSample(r, what, val, srs, func(sr source.SignalRequest) triggers.Empty { return sr.Spec.Loki.Empty })
	}
}

// query sends one instant query at the given time and returns its vector
// or scalar; a failure has made srs unknown when ok is false.
func (s *Loki) query(ctx context.Context, r *run, what, q string, srs []source.SignalRequest, at time.Time) (model.Value, bool) {
	params := url.Values{"query": {q}, "time": {strconv.FormatInt(at.UnixNano(), 10)}}
	var resp lokiQueryResponse
	ok := s.server.request(ctx, r, what, keysOf(srs), func(ctx context.Context) error {
		body, err := s.get(ctx, "/loki/api/v1/query", params)
		if err != nil {
			return err
		}
		resp = lokiQueryResponse{}
		if err := json.Unmarshal(body, &resp); err != nil {
			return fmt.Errorf("not Loki's query JSON: %w", err)
		}
		if resp.Status != "success" {
			return fmt.Errorf("status %q, want success", resp.Status)
		}
		return nil
	})
	if !ok {
		return nil, false
	}
	var val model.Value
	var err error
	switch t := resp.Data.ResultType; t {
	case "vector":
		var v model.Vector
		err = json.Unmarshal(resp.Data.Result, &v)
		val = v
	case "scalar":
		v := &model.Scalar{}
		err = json.Unmarshal(resp.Data.Result, v)
		val = v
	case "streams":
		r.fail(source.Error{Reason: source.ReasonBadQuery, Err: fmt.Errorf("%s returned log lines; want a metric query such as count_over_time(...)", what)}, keysOf(srs)...)
		return nil, false
	default:
		err = fmt.Errorf("result type %q; want vector or scalar", t)
	}
	if err != nil {
		r.fail(source.Error{Reason: source.ReasonBadResponse, Err: fmt.Errorf("%s: %w", what, err)}, keysOf(srs)...)
		return nil, false
	}
	return val, true
}

// probe asks Loki's build info endpoint, or, behind gateways that do not
// pass it, its labels endpoint.
func (s *Loki) probe(ctx context.Context) error {
	body, err := s.get(ctx, "/loki/api/v1/status/buildinfo", nil)
	if notFound(ctx, err) {
		body, err = s.get(ctx, "/loki/api/v1/labels", nil)
	}
	if err != nil {
		return err
	}
	if !json.Valid(body) {
		return errors.New("answer is not JSON")
	}
	return nil
}
