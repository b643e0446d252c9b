package kubernetes

import (
	"context"
	"fmt"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The initial list is read page by page, each page reduced before the next
// is asked for; a relist at a given version goes through as asked.
func TestListWithPagesAndReduces(t *testing.T) {
	const total = 1234
	var asked []metav1.ListOptions
	pages := func(_ context.Context, o metav1.ListOptions) (*appsv1.DeploymentList, error) {
		asked = append(asked, o)
		from := 0
		if o.Continue != "" {
			fmt.Sscanf(o.Continue, "%d", &from)
		}
		n := total - from
		if o.Limit > 0 && int64(n) > o.Limit {
			n = int(o.Limit)
		}
		l := &appsv1.DeploymentList{ListMeta: metav1.ListMeta{ResourceVersion: "42"}}
		for i := from; i < from+n; i++ {
			l.Items = append(l.Items, *deploymentObj("ns", fmt.Sprintf("d%d", i), nil, podTemplate(labelsOf("app", "x"), goodContainer("app"))))
		}
		if from+n < total {
			l.Continue = fmt.Sprint(from + n)
		}
		return l, nil
	}
	list := listWith(pages, reduceDeployment)

	obj, err := list(context.Background(), metav1.ListOptions{ResourceVersion: "0"})
	if err != nil {
		t.Fatal(err)
	}
	items, err := meta.ExtractList(obj)
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != total {
		t.Fatalf("%d items, want %d", len(items), total)
	}
	if w, ok := items[total-1].(*listedObject).reduced.(*workload); !ok || w.name != fmt.Sprintf("d%d", total-1) {
		t.Fatalf("last item %+v, want the reduced d%d", items[total-1], total-1)
	}
	if lm, _ := meta.ListAccessor(obj); lm.GetResourceVersion() != "42" {
		t.Errorf("resource version %q, want the pages' 42", lm.GetResourceVersion())
	}
	if len(asked) != 3 || asked[0].ResourceVersion != "" || asked[0].Limit != listPageSize || asked[2].Continue != "1000" {
		t.Errorf("asked %+v, want three pages of %d at the latest version", asked, listPageSize)
	}

	asked = nil
	if _, err := list(context.Background(), metav1.ListOptions{ResourceVersion: "41", ResourceVersionMatch: metav1.ResourceVersionMatchNotOlderThan}); err != nil {
		t.Fatal(err)
	}
	if len(asked) != 1 || asked[0].ResourceVersion != "41" || asked[0].Limit != 0 {
		t.Errorf("a relist at a version was changed: %+v", asked)
	}
}

// deploymentPages serves total Deployments in pages as the API server does,
// answering 410 Gone to the continue tokens of the first expire lists.
func deploymentPages(total, expire int, asked *[]metav1.ListOptions) func(context.Context, metav1.ListOptions) (*appsv1.DeploymentList, error) {
	lists := 0
	return func(_ context.Context, o metav1.ListOptions) (*appsv1.DeploymentList, error) {
		*asked = append(*asked, o)
		from := 0
		if o.Continue == "" {
			lists++
		} else {
			if lists <= expire {
				return nil, apierrors.NewResourceExpired("the provided continue parameter is too old")
			}
			fmt.Sscanf(o.Continue, "%d", &from)
		}
		n := total - from
		if o.Limit > 0 && int64(n) > o.Limit {
			n = int(o.Limit)
		}
		l := &appsv1.DeploymentList{ListMeta: metav1.ListMeta{ResourceVersion: fmt.Sprint(100 + lists)}}
		for i := from; i < from+n; i++ {
			l.Items = append(l.Items, *deploymentObj("ns", fmt.Sprintf("d%d", i), nil, podTemplate(labelsOf("app", "x"), goodContainer("app"))))
		}
		if from+n < total {
			l.Continue = fmt.Sprint(from + n)
		}
		return l, nil
	}
}

// A continue token that expires between two pages (410) starts the paged
// list over; it never falls back to one list of everything, and it gives
// up after listRestarts tries, to the reflector's backoff.
func TestListStartsOverWhenItsContinueTokenExpires(t *testing.T) {
	const total = 1234
	var asked []metav1.ListOptions
	list := listWith(deploymentPages(total, 2, &asked), reduceDeployment)
	obj, err := list(context.Background(), metav1.ListOptions{ResourceVersion: "0"})
	if err != nil {
		t.Fatal(err)
	}
	items, _ := meta.ExtractList(obj)
	if len(items) != total {
		t.Fatalf("%d items, want %d, each once", len(items), total)
	}
	if lm, _ := meta.ListAccessor(obj); lm.GetResourceVersion() != "103" {
		t.Errorf("resource version %q, want 103, the version of the list that completed", lm.GetResourceVersion())
	}
	for _, o := range asked {
		if o.Limit != listPageSize {
			t.Errorf("asked %+v: every request is a page of %d", o, listPageSize)
		}
	}
	if len(asked) != 2*2+3 {
		t.Errorf("%d requests, want two lists cut short after their first page, then three pages", len(asked))
	}

	asked = nil
	list = listWith(deploymentPages(total, 100, &asked), reduceDeployment)
	if _, err := list(context.Background(), metav1.ListOptions{ResourceVersion: "0"}); !apierrors.IsResourceExpired(err) {
		t.Fatalf("err = %v, want the 410 once the restarts are spent", err)
	}
	if len(asked) != 2*(listRestarts+1) {
		t.Errorf("%d requests for a list whose token always expires, want %d", len(asked), 2*(listRestarts+1))
	}
}
