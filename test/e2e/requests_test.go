package e2e

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"strings"
	"testing"
)

// TestEveryRequestHasATimeout reads the tier's own code, build tags aside
// (this test runs in the unit tier): no request goes through http.Get,
// http.Post, http.DefaultClient or an http.Client without a Timeout, which
// wait forever on a server that hangs and so spend the tier's whole budget.
func TestEveryRequestHasATimeout(t *testing.T) {
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	files := 0
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".go") {
			continue
		}
		f, err := parser.ParseFile(fset, e.Name(), nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		files++
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.SelectorExpr:
				if x, ok := n.X.(*ast.Ident); ok && x.Name == "http" {
					switch n.Sel.Name {
					case "Get", "Post", "Head", "PostForm", "DefaultClient":
						t.Errorf("%s: http.%s never gives up; use testClient", fset.Position(n.Pos()), n.Sel.Name)
					}
				}
			case *ast.CompositeLit:
				sel, ok := n.Type.(*ast.SelectorExpr)
				if !ok || sel.Sel.Name != "Client" {
					return true
				}
				if x, ok := sel.X.(*ast.Ident); !ok || x.Name != "http" {
					return true
				}
				for _, el := range n.Elts {
					if kv, ok := el.(*ast.KeyValueExpr); ok {
						if k, ok := kv.Key.(*ast.Ident); ok && k.Name == "Timeout" {
							return true
						}
					}
				}
				t.Errorf("%s: an http.Client without a Timeout; use testClient or clientWith", fset.Position(n.Pos()))
			}
			return true
		})
	}
	if files < 10 {
		t.Fatalf("read only %d files", files)
	}
}
