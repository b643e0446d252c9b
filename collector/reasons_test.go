package collector

import (
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/capability-exporter/capability_exporter/collector/source"
)

// TestEveryEmittedReasonIsDeclared reads the sources' code: every reason a
// source kind can count an error by must be one its factory declares, so
// that each capability_exporter_source_errors_total series starts at 0 and
// increase() sees the first error. A reason is named by a source.Reason
// constant; a string literal where a reason goes (a Error's Reason, a
// function that returns a Reason, a conversion to Reason) is refused, since
// it escapes the declared set.
func TestEveryEmittedReasonIsDeclared(t *testing.T) {
	consts := reasonConstants(t, filepath.Join("source", "source.go"))
	packages := []struct {
		dir   string
		kinds []string
		skip  []string // files that declare reasons rather than emit them
	}{
		{dir: "httpapi", kinds: []string{"prometheus", "loki"}},
		{dir: "kubernetes", kinds: []string{"kubernetes"}},
		// The scheduler emits start and panic for every kind it runs.
		{dir: ".", kinds: slices.Sorted(maps.Keys(factories)), skip: []string{"sources.go"}},
	}
	for _, p := range packages {
		used := scanReasons(t, p.dir, p.skip, consts)
		for _, kind := range p.kinds {
			declared := ErrorReasons(kind)
			for _, r := range used {
				switch {
				case r == source.ReasonCanceled:
					// Only a shutdown cancels; such an evaluation is neither
					// counted nor published.
				case r == source.ReasonStart && kind == "fact":
					// The facts were checked when the config loaded; their
					// source cannot fail to start.
				case !slices.Contains(declared, r):
					t.Errorf("%s emits reason %q, which the %s source does not declare (%v)", p.dir, r, kind, declared)
				}
			}
		}
	}
}

// reasonConstants reads the Reason constants of the source package, by name.
func reasonConstants(t *testing.T, file string) map[string]source.Reason {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), file, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]source.Reason{}
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, spec := range g.Specs {
			vs := spec.(*ast.ValueSpec)
			if id, ok := vs.Type.(*ast.Ident); !ok || id.Name != "Reason" {
				continue
			}
			for i, name := range vs.Names {
				lit, ok := vs.Values[i].(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					t.Fatalf("%s: reason %s is not a string literal", file, name.Name)
				}
				v, _ := strconv.Unquote(lit.Value)
				out[name.Name] = source.Reason(v)
			}
		}
	}
	if len(out) < 10 {
		t.Fatalf("%s: found only %d Reason constants", file, len(out))
	}
	return out
}

// scanReasons returns the reasons the non-test files of dir emit, and
// fails the test for every reason written as a string literal.
func scanReasons(t *testing.T, dir string, skip []string, consts map[string]source.Reason) []source.Reason {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var used []source.Reason
	use := func(r source.Reason) {
		if !slices.Contains(used, r) {
			used = append(used, r)
		}
	}
	literal := func(e ast.Expr) {
		if lit, ok := e.(*ast.BasicLit); ok && lit.Kind == token.STRING && lit.Value != `""` {
			t.Errorf("%s: reason written as the literal %s; name it by a source.Reason constant the source declares", fset.Position(lit.Pos()), lit.Value)
		}
	}
	isSourceSel := func(e ast.Expr, name string) bool {
		sel, ok := e.(*ast.SelectorExpr)
		if !ok {
			return false
		}
		x, ok := sel.X.(*ast.Ident)
		return ok && x.Name == "source" && sel.Sel.Name == name
	}
	isSourceErrorType := func(e ast.Expr) bool {
		if st, ok := e.(*ast.StarExpr); ok {
			e = st.X
		}
		return isSourceSel(e, "Error")
	}
	checkSourceError := func(cl *ast.CompositeLit) {
		for _, el := range cl.Elts {
			if kv, ok := el.(*ast.KeyValueExpr); ok {
				if k, ok := kv.Key.(*ast.Ident); ok && k.Name == "Reason" {
					literal(kv.Value)
				}
			}
		}
	}
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") || slices.Contains(skip, name) {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		// Functions that return a Reason: their returns are reasons.
		var reasonFuncs []*ast.FuncType
		ast.Inspect(f, func(n ast.Node) bool {
			var ft *ast.FuncType
			switch fn := n.(type) {
			case *ast.FuncDecl:
				ft = fn.Type
			case *ast.FuncLit:
				ft = fn.Type
			}
			if ft != nil && ft.Results != nil {
				for _, r := range ft.Results.List {
					if isSourceSel(r.Type, "Reason") {
						reasonFuncs = append(reasonFuncs, ft)
					}
				}
			}
			return true
		})
		var stack []ast.Node
		ast.Inspect(f, func(n ast.Node) bool {
			if n == nil {
				stack = stack[:len(stack)-1]
				return true
			}
			stack = append(stack, n)
			switch n := n.(type) {
			case *ast.SelectorExpr:
				if x, ok := n.X.(*ast.Ident); ok && x.Name == "source" {
					if r, ok := consts[n.Sel.Name]; ok {
						use(r)
					}
					if n.Sel.Name == "Recovered" || n.Sel.Name == "GuardValue" {
						use(source.ReasonPanic)
					}
				}
			case *ast.CompositeLit:
				switch {
				case isSourceErrorType(n.Type):
					checkSourceError(n)
				case n.Type != nil:
					if at, ok := n.Type.(*ast.ArrayType); ok && isSourceErrorType(at.Elt) {
						for _, el := range n.Elts {
							if cl, ok := el.(*ast.CompositeLit); ok && cl.Type == nil {
								checkSourceError(cl)
							}
						}
					}
				}
			case *ast.CallExpr:
				if isSourceSel(n.Fun, "Reason") && len(n.Args) == 1 {
					literal(n.Args[0])
				}
			case *ast.ReturnStmt:
				for i := len(stack) - 2; i >= 0; i-- {
					var ft *ast.FuncType
					switch fn := stack[i].(type) {
					case *ast.FuncDecl:
						ft = fn.Type
					case *ast.FuncLit:
						ft = fn.Type
					}
					if ft == nil {
						continue
					}
					if slices.Contains(reasonFuncs, ft) {
						for _, r := range n.Results {
							literal(r)
						}
					}
					break
				}
			}
			return true
		})
	}
	if len(used) == 0 {
		t.Fatalf("%s: no reason found; is the scan still reading the source code?", dir)
	}
	return used
}
