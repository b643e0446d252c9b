package whatif

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/capability-exporter/capability_exporter/config"
	"github.com/capability-exporter/capability_exporter/report"
	"github.com/capability-exporter/capability_exporter/yamlpos"
)

// Request is the body of POST /api/v1/what-if: each section a mapping
// written as the config file writes it.
type Request struct {
	Facts      json.RawMessage `json:"facts,omitempty"`
	Overrides  json.RawMessage `json:"overrides,omitempty"`
	Thresholds json.RawMessage `json:"thresholds,omitempty"`
}

// ParseJSON reads a what-if from a JSON body. An unknown top-level field or
// a body that is not one JSON object is a *config.WhatIfError naming it;
// each section is read as YAML reads the config file (JSON is YAML), so
// true is a bool and "true" is not, 12 is a number, "15%" a ratio.
func ParseJSON(body []byte) (config.WhatIf, error) {
	var req Request
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if len(bytes.TrimSpace(body)) == 0 {
		return config.WhatIf{}, nil
	}
	if err := dec.Decode(&req); err != nil {
		field, msg := "body", "want a JSON object with facts, overrides and thresholds: "+err.Error()
		if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			field, msg = strings.Trim(name, `"`), "unknown field (want facts, overrides or thresholds)"
		}
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			field, msg = te.Field, "want a mapping of names to values"
		}
		return config.WhatIf{}, &config.WhatIfError{Problems: []config.Problem{{Field: field, Message: msg}}}
	}
	if dec.More() {
		return config.WhatIf{}, &config.WhatIfError{Problems: []config.Problem{{Field: "body", Message: "want one JSON object"}}}
	}
	var w config.WhatIf
	for _, s := range []struct {
		raw  json.RawMessage
		dst  **yaml.Node
		name string
	}{{req.Facts, &w.Facts, "facts"}, {req.Overrides, &w.Overrides, "overrides"}, {req.Thresholds, &w.Thresholds, "thresholds"}} {
		if len(s.raw) == 0 {
			continue
		}
		var doc yaml.Node
		if err := yaml.Unmarshal(s.raw, &doc); err != nil {
			return config.WhatIf{}, &config.WhatIfError{Problems: []config.Problem{{Field: s.name, Message: err.Error()}}}
		}
		if root := yamlpos.Root(&doc); root != nil {
			*s.dst = root
		}
	}
	return w, nil
}

// errorBody is what every refusal answers, in the shape of the other API
// errors, with one entry per wrong field.
type errorBody struct {
	APIVersion string           `json:"api_version"`
	Error      string           `json:"error"`
	Errors     []config.Problem `json:"errors"`
}

// Handler serves POST Path: the body is a Request, the answer an Answer.
// 400 names each wrong field, 413 a body over the limit, 429 (with
// Retry-After) a what-if over the concurrency limit, 503 before the first
// evaluation or past the timeout.
func (s *Service) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			writeError(w, http.StatusMethodNotAllowed, "a what-if is asked with POST and a JSON body", nil)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, DefaultMaxBody))
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the body is over %d bytes", tooBig.Limit),
					[]config.Problem{{Field: "body", Message: fmt.Sprintf("over %d bytes", tooBig.Limit)}})
				return
			}
			writeError(w, http.StatusBadRequest, "reading the body: "+err.Error(), nil)
			return
		}
		wi, err := ParseJSON(body)
		if err == nil {
			var ans *Answer
			if ans, err = s.Ask(req.Context(), ViaAPI, wi); err == nil {
				w.Header().Set("Content-Type", "application/json; charset=utf-8")
				w.Header().Set("Cache-Control", "no-store")
				enc := json.NewEncoder(w)
				enc.SetIndent("", "  ")
				enc.SetEscapeHTML(false)
				_ = enc.Encode(ans)
				return
			}
		}
		var we *config.WhatIfError
		switch {
		case errors.As(err, &we):
			writeError(w, http.StatusBadRequest, we.Error(), we.Problems)
		case errors.Is(err, ErrBusy):
			w.Header().Set("Retry-After", "1")
			writeError(w, http.StatusTooManyRequests, fmt.Sprintf("%v (at most %d at once)", err, s.Limit()), nil)
		case errors.Is(err, ErrNotReady), errors.Is(err, ErrTimeout):
			writeError(w, http.StatusServiceUnavailable, err.Error(), nil)
		case req.Context().Err() != nil:
			// The caller left; nobody reads an answer.
		default:
			writeError(w, http.StatusInternalServerError, err.Error(), nil)
		}
	})
}

func writeError(w http.ResponseWriter, code int, msg string, problems []config.Problem) {
	if problems == nil {
		problems = []config.Problem{}
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(errorBody{APIVersion: report.APIVersion, Error: msg, Errors: problems})
}
