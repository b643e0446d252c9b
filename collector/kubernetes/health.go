package kubernetes

// The parts of Priority 1 that the Kubernetes API shows directly: whether
// Deployments succeed and whether network policies exist. (Nodes' Ready is
// counted with their topology, GitOps in gitops.go.)

type deploymentCounts struct{ unavailable, stuck int }

// deploymentHealth counts the Deployments of every namespace, platform ones
// included (a stuck Argo CD or ingress controller is as much a Priority 1
// problem as a stuck app), that are not Available, and those whose rollout
// stopped at its progress deadline.
func (v *clusterView) deploymentHealth() *deploymentCounts {
	if v.health != nil {
		return v.health
	}
	c := &deploymentCounts{}
	for _, o := range v.list(resDeployments) {
		w, ok := o.(*workload)
		if !ok {
			continue
		}
		if w.unavailable {
			c.unavailable++
		}
		if w.stuck {
			c.stuck++
		}
	}
	v.health = c
	return c
}

// policyCount counts the network policies of every namespace and the
// clusterwide ones, of any CNI the source reads (policies.go), and says what
// the count may have missed: policy APIs that cannot be found or read.
func (v *clusterView) policyCount() (int, []string) {
	var doubt []string
	ids := []resourceID{resNetworkPolicies}
	if e := v.unready[resCRDs]; e != nil {
		doubt = append(doubt, "the policy APIs of CNIs cannot be found: "+e.Error())
	}
	for _, id := range policyResources {
		if e := v.unready[id]; e != nil {
			doubt = append(doubt, e.Error())
		} else {
			ids = append(ids, id)
		}
	}
	if e := v.unready[resAPIServices]; e != nil && v.s.runningInformer(resCalicoNetworkPolicies) == nil {
		doubt = append(doubt, "whether Calico's API server serves policies cannot be told: "+e.Error())
	}
	n := 0
	for _, id := range ids {
		for _, o := range v.list(id) {
			if _, ok := o.(*networkPolicy); ok {
				n++
			}
		}
	}
	return n, doubt
}
