package mcpserver

import (
	"context"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/capability-exporter/capability_exporter/report"
)

const promptDecisionRecord = "decision_record"

func (h *Handler) addPrompts(s *mcp.Server) {
	s.AddPrompt(&mcp.Prompt{Name: promptDecisionRecord, Title: "Architecture decision record for one capability",
		Description: "The exporter's decision record for one capability, as capability_exporter assess writes it " +
			"(Markdown: the decision, its reasons in the framework's words, the evidence with values and thresholds, " +
			"what would change it, the open questions), with the request to turn it into an architecture decision record.",
		Arguments: []*mcp.PromptArgument{{Name: "capability", Title: "Capability", Required: true, Description: capabilityArg}}},
		h.decisionRecord)
}

func (h *Handler) decisionRecord(_ context.Context, req *mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
	_, r, err := h.current()
	if err != nil {
		return nil, err
	}
	c, err := capabilityIn(r, req.Params.Arguments["capability"])
	if err != nil {
		return nil, err
	}
	one := *r
	one.Capabilities = []report.Capability{*c}
	var md strings.Builder
	if err := report.WriteMarkdown(&md, &one); err != nil {
		return nil, err
	}
	text := "Write an architecture decision record on " + c.Title + " for our platform from the decision record below, " +
		"which capability_exporter wrote from our live data and declared facts. Keep its decision, its reasons in the " +
		"framework's words, its values and its open questions as they are; say \"probably\" where it does; invent no " +
		"measurement; list what would change the decision as the record's review triggers.\n\n" + md.String()
	return &mcp.GetPromptResult{Description: "Decision record: " + c.Title,
		Messages: []*mcp.PromptMessage{{Role: "user", Content: &mcp.TextContent{Text: text}}}}, nil
}
