/**
 * One keep-alive connection pool for every request and watch a command makes.
 *
 * client-node 1.4 builds a new `https.Agent` for every API call and every watch
 * (`KubeConfig.createAgent`, called from `applySecurityAuthentication` and
 * `applyToFetchOptions`), so every request paid a TCP connect and a full TLS handshake: most
 * of the controller's CPU in a burst of claims. Both callers derive the agent's TLS material
 * (CA, client certificate, skip-verify, server name) from the same current cluster and user,
 * so the first agent built serves them all; bearer tokens travel in headers, not in the agent.
 */
import * as http from 'http';
import * as https from 'https';
import type { KubeConfig } from '@kubernetes/client-node';

/**
 * Most connections open to the API server at once. Each watch holds one for its life (a
 * command runs at most a handful), the rest carry requests; more requests than that wait
 * for a free connection rather than open new ones.
 */
export const MAX_SOCKETS = 32;

/** The private factory `shareOneAgent` replaces (checked by the connection-reuse test). */
interface AgentFactory {
  createAgent(cluster: unknown, options: https.AgentOptions): http.Agent;
}

/** Makes every request and watch of `kc` use one keep-alive agent with at most {@link MAX_SOCKETS} connections. */
export function shareOneAgent(kc: KubeConfig): KubeConfig {
  const factory = kc as unknown as AgentFactory;
  if (typeof factory.createAgent !== 'function') {
    throw new Error('@kubernetes/client-node has no KubeConfig.createAgent: the shared connection pool needs updating for this version');
  }
  const create = factory.createAgent.bind(kc);
  let agent: http.Agent | undefined;
  factory.createAgent = (cluster, options) => {
    // `timeout` would apply to watch connections too, which are idle between events.
    agent ??= handOverAfterClose(create(cluster, {
      ...options, timeout: undefined, keepAlive: true, maxSockets: MAX_SOCKETS, maxFreeSockets: MAX_SOCKETS,
    }));
    return agent;
  };
  return kc;
}

/**
 * Hands a freed connection to a request waiting for one a macrotask later. node-fetch 2
 * (which client-node uses) takes a `data` listener still on the socket when a chunked
 * response closes for a truncated body; an agent that gives the socket to the next queued
 * request at once has added that request's listener by then, and the finished response
 * fails with "Premature close" (node-fetch/node-fetch#1767). By the next macrotask the
 * response has closed. With no request waiting the socket goes back to the pool at once.
 */
function handOverAfterClose(agent: http.Agent): http.Agent {
  const emit = agent.emit.bind(agent);
  agent.emit = (event: string | symbol, ...args: unknown[]) => {
    if (event !== 'free' || !hasWaitingRequests(agent)) return emit(event, ...args);
    setImmediate(() => emit(event, ...args));
    return true;
  };
  return agent;
}

function hasWaitingRequests(agent: http.Agent): boolean {
  return Object.values(agent.requests).some((queue) => (queue?.length ?? 0) > 0);
}
