/** Parses `ip -j route show <prefix>` (v4 or v6) into next hops. */
import type { KernelNextHop } from './router-state.js';

interface IpRoute {
  dst?: string;
  gateway?: string;
  dev?: string;
  type?: string;
  nexthops?: { gateway?: string; dev?: string; weight?: number }[];
}

/**
 * One route has either a single `gateway`/`dev` or, for ECMP, `nexthops[]`. Blackhole,
 * unreachable and prohibit routes forward nowhere: no next hops.
 */
export function parseIpRoutes(text: string): KernelNextHop[] {
  const routes = JSON.parse(text.trim() || '[]') as IpRoute[];
  return routes.flatMap((r): KernelNextHop[] => {
    if (r.type && r.type !== 'unicast') return [];
    if (r.nexthops) {
      return r.nexthops.map((n) => ({ gateway: n.gateway, dev: n.dev, weight: n.weight }));
    }
    return [{ gateway: r.gateway, dev: r.dev }];
  });
}
