// Package bullets reads the framework's bullet list (triggers/testdata/seed/
// bullets.yml): the TRIGGER, NOT, NOW and LATER bullets of each capability,
// multi-region's "Prepare NOW" and "Activate LATER", the parts of the decision
// matrix and the webshop's verdicts, each word for word. It tells which
// bullet a seed: quote of the rules cites. The rules' test and the
// documentation generator read it; the exporter does not.
package bullets
