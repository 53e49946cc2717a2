import { type LabPlan, SECOND_LAN_IF } from './plan.js';
import { birdSocket } from './router/runtime-paths.js';

const both = (a: { v4: string; v6?: string }) => (a.v6 ? `${a.v4}, ${a.v6}` : a.v4);

/** What `lab up` prints at the end: the topology with its addresses, and what to try next. */
export function labSummary(plan: LabPlan, cluster: { overview: string; kubeconfig: string }): string {
  const nodes = plan.nodes.map(
    (n) => `    ${n.name.padEnd(10)} ${both(n.lan).padEnd(36)} pods ${both(n.podCidr)}`,
  );
  const lan = plan.lanClient ? `    lan-client ${both(plan.lanClient.address)}` : undefined;
  const secondLan = [...plan.nodes, ...(plan.lanClient ? [plan.lanClient] : [])].map(
    (h) => `    ${h.name.padEnd(10)} ${both(h.secondLan)}`,
  );
  const first = plan.nodes[0]!;
  const routerState =
    plan.router.kind === 'frr'
      ? `portico lab exec router -- vtysh -N ${plan.router.netns} -c 'show bgp summary'`
      : plan.router.kind === 'bird'
        ? `portico lab exec router -- birdc -s ${birdSocket(plan.router.netns)} show protocols`
        : 'portico lab exec router -- gobgp neighbor';
  return [
    '',
    `The lab is up: a switch (${plan.lan.v4}${plan.lan.v6 ? `, ${plan.lan.v6}` : ''}) with`,
    `    router     ${both(plan.router.lan).padEnd(36)} ${plan.router.kind}, AS ${plan.router.asn}, accepts BGP from AS ${plan.nodeAsn}`,
    ...nodes,
    ...(lan ? [lan] : []),
    `a second LAN on the switch (${both(plan.secondLan)}), without a router, to ${SECOND_LAN_IF} of`,
    ...secondLan,
    `and behind the router, on its own link, the client ${both(plan.client.address)}.`,
    `The control plane runs on the host at ${both(plan.controlPlane.address)} (kube-apiserver port ${plan.controlPlane.apiserverPort}),`,
    'and a real kube-proxy and a lab kubelet run on every node (Pods run as processes in their own namespaces;',
    "images: portico-lab/echo and Portico's own).",
    `LoadBalancer pools in the examples use ${both(plan.loadBalancerPool)}.`,
    '',
    'Try:',
    '    kubectl get nodes -o wide                           # after the export below',
    '    kubectl create deployment echo --image=portico-lab/echo --replicas=3 --port=8080',
    '    kubectl expose deployment echo --type=NodePort --port=80 --target-port=8080',
    `    portico lab exec client -- curl -s http://${first.lan.v4}:$(kubectl get svc echo -o jsonpath='{.spec.ports[0].nodePort}')/`,
    `    portico lab exec ${first.name} -- curl -sk https://${plan.kubernetesService}/version   # the kubernetes Service, through kube-proxy`,
    `    portico lab exec client -- ping -c 2 ${first.lan.v4}        # through the router to node-1`,
    `    ${routerState}`,
    `    portico lab link ${first.name} down; portico lab link ${first.name} up   # cut and restore a node's link`,
    '    portico lab status',
    '    portico lab down',
    '',
    "Portico's controller was installed from manifests/ into portico-system, and examples/ applied:",
    '    kubectl get svc -n portico-examples                 # EXTERNAL-IPs from the pool in examples/',
    '    kubectl get ipaddresspools -n portico-system',
    '',
    cluster.overview.trimEnd(),
    '',
    `export KUBECONFIG=${cluster.kubeconfig}`,
    '',
  ].join('\n');
}
