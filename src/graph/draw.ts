/**
 * Dask's `visualize()`, as text: the graph behind some nodes in Graphviz DOT or as a Mermaid
 * flowchart. One box per node (its function's name and id), an edge from each input to the node
 * that uses it, and after a compute each node's state as its colour.
 */
import type { Delayed, NodeState } from './delayed.js';

const COLOURS: Record<NodeState, string> = {
  pending: 'white',
  running: 'lightblue',
  done: 'palegreen',
  failed: 'salmon',
  cancelled: 'lightgrey',
};

/**
 * Every node reachable from `roots`, inputs before the nodes that use them (iterative: chains may
 * be long). A node for which `stopAt` is true is listed but its inputs are not visited.
 */
export function graphOf(
  roots: readonly Delayed<unknown>[],
  stopAt?: (node: Delayed<unknown>) => boolean,
): Delayed<unknown>[] {
  const order: Delayed<unknown>[] = [];
  const seen = new Set<Delayed<unknown>>();
  // Depth-first without recursion: two parallel stacks (node, index of its next input to visit).
  const nodes: Delayed<unknown>[] = [];
  const next: number[] = [];
  for (const root of roots) {
    if (seen.has(root)) continue;
    seen.add(root);
    nodes.push(root);
    next.push(0);
    while (nodes.length > 0) {
      const top = nodes.length - 1;
      const node = nodes[top] as Delayed<unknown>;
      const deps = stopAt?.(node) ? [] : node.dependencies;
      const k = next[top] as number;
      if (k < deps.length) {
        next[top] = k + 1;
        const dep = deps[k] as Delayed<unknown>;
        if (!seen.has(dep)) {
          seen.add(dep);
          nodes.push(dep);
          next.push(0);
        }
      } else {
        nodes.pop();
        next.pop();
        order.push(node);
      }
    }
  }
  return order;
}

function label(node: Delayed<unknown>): string {
  return `${node.name} #${node.id}${node.persisted ? ' (persisted)' : ''}`;
}

/** Graphviz DOT: `dot -Tsvg graph.dot > graph.svg`. */
export function toDot(roots: readonly Delayed<unknown>[]): string {
  const lines = ['digraph skein {', '  rankdir=BT;', '  node [shape=box, style=filled];'];
  for (const node of graphOf(roots)) {
    lines.push(
      `  n${node.id} [label=${JSON.stringify(label(node))}, fillcolor=${COLOURS[node.state]}, tooltip=${JSON.stringify(node.state)}];`,
    );
    for (const dep of node.dependencies) lines.push(`  n${dep.id} -> n${node.id};`);
  }
  lines.push('}');
  return `${lines.join('\n')}\n`;
}

/** A Mermaid flowchart (GitHub renders it in a ```mermaid block). */
export function toMermaid(roots: readonly Delayed<unknown>[]): string {
  const lines = ['flowchart BT'];
  const used = new Set<NodeState>();
  for (const node of graphOf(roots)) {
    used.add(node.state);
    lines.push(`  n${node.id}["${label(node).replaceAll('"', '#quot;')}"]:::${node.state}`);
    for (const dep of node.dependencies) lines.push(`  n${dep.id} --> n${node.id}`);
  }
  for (const state of used) lines.push(`  classDef ${state} fill:${COLOURS[state]}`);
  return `${lines.join('\n')}\n`;
}
