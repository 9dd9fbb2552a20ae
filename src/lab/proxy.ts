// The HA proxy as it stands: its ports on the host, and which servers its health checks have up
// behind the writer and reader ports (HAProxy's statistics, through the runtime's HTTP client).
import { HaApiError } from "../core/ha-client.js";
import { upServers } from "../core/proxy.js";
import type { ProxyView } from "../core/status.js";
import { reachedAt, type LabContext } from "./context.js";

export async function readProxy(lab: LabContext): Promise<ProxyView | undefined> {
  const proxy = lab.proxy;
  if (!proxy) return undefined;
  const view: ProxyView = {
    container_state: proxy.state,
    writer_port: proxy.writerPort ?? null,
    reader_port: proxy.readerPort ?? null,
    writer: null,
    reader: null,
  };
  if (proxy.state !== "running" || proxy.statsPort === undefined) return view;
  try {
    const csv = await lab.runtime.ha.proxyStats({ member: proxy.name, host: reachedAt(lab, proxy), port: proxy.statsPort });
    return { ...view, ...upServers(csv) };
  } catch (error) {
    if (error instanceof HaApiError) return view;
    throw error;
  }
}
