// Types of bridge.js: the component entry module's export.
import type { Toolbox } from './index.js';

export interface ToolExport {
  listTools(): unknown[];
  callTool(name: string, args: string): unknown;
}

/** The `tool` interface of a component serving `toolbox`; `warmUp` lists
 * representative calls made once at build time, into the snapshot. */
export function exportTool(
  toolbox: Toolbox,
  options?: { warmUp?: [name: string, args: Record<string, unknown>][] },
): ToolExport;
