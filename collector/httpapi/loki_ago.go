package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/prometheus/common/model"

	"github.com/capability-exporter/capability_exporter/collector/source"
	"github.com/capability-exporter/capability_exporter/triggers"
)

// A query evaluated in the past (loki: ago:): the instant query is sent at
// time now-ago over its own short range, which Loki's max_query_length
// allows where a range reaching back as far would not. An empty answer is
// ambiguous: the stream may not reach back, or Loki may hold nothing at all
// from then (it is younger than that, or keeps logs for less). The labels
// endpoint over the query's window tells the two apart from the index alone:
// no label at all means no log from then, and the signal is unknown.

type agoKey struct {
	query string
	ago   time.Duration
}

// sendAgo spawns each query in the past once. Its answer changes only as
// slowly as the past moves, so it is sent on the slow cadence.
func (s *Loki) sendAgo(ctx context.Context, c *httpCollect, queries map[agoKey][]source.SignalRequest, now time.Time) {
	for k, srs := range queries {
		what := fmt.Sprintf("LogQL query %q at %s ago", k.query, model.Duration(k.ago))
		window := c.server.scope.window(k.query)
		c.spawnSlow(what, max(window, k.ago), what, srs, func() { s.instantAgo(ctx, c.r, what, k, window, srs, now) })
	}
}

func (s *Loki) instantAgo(ctx context.Context, r *run, what string, k agoKey, window time.Duration, srs []source.SignalRequest, now time.Time) {
	at := now.Add(-k.ago)
	val, ok := s.query(ctx, r, what, k.query, srs, at)
	if !ok {
		return
	}
	if v, isVector := val.(model.Vector); isVector && len(v) == 0 {
		if window <= 0 {
			window = time.Hour
		}
		held, ok := s.holdsLogs(ctx, r, what, srs, at.Add(-window), at)
		if !ok {
			return
		}
		if !held {
			for _, sr := range srs {
				r.set(sr.Key, triggers.UnknownValue(triggers.CodeTooYoung, fmt.Sprintf("Loki holds no logs at all from %s ago (it is younger than that, or keeps logs for less), so %s cannot tell",
					model.Duration(k.ago), what), ""))
			}
			return
		}
	}
	setSample(r, what, val, srs, func(sr source.SignalRequest) triggers.Empty { return sr.Spec.Loki.Empty })
}

// lokiLabelsResponse is the documented answer of /loki/api/v1/labels.
type lokiLabelsResponse struct {
	Status string   `json:"status"`
	Data   []string `json:"data"`
}

// holdsLogs asks Loki's labels endpoint whether any stream has entries
// between start and end.
func (s *Loki) holdsLogs(ctx context.Context, r *run, what string, srs []source.SignalRequest, start, end time.Time) (bool, bool) {
	params := url.Values{"start": {strconv.FormatInt(start.UnixNano(), 10)}, "end": {strconv.FormatInt(end.UnixNano(), 10)}}
	var resp lokiLabelsResponse
	ok := s.server.request(ctx, r, "labels for "+what, keysOf(srs), func(ctx context.Context) error {
		body, err := s.get(ctx, "/loki/api/v1/labels", params)
		if err != nil {
			return err
		}
		resp = lokiLabelsResponse{}
		if err := json.Unmarshal(body, &resp); err != nil {
			return fmt.Errorf("not Loki's labels JSON: %w", err)
		}
		if resp.Status != "success" {
			return fmt.Errorf("status %q, want success", resp.Status)
		}
		return nil
	})
	return len(resp.Data) > 0, ok
}
