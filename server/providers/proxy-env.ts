// The egress proxy the environment asks for: HTTPS_PROXY / HTTP_PROXY / NO_PROXY (lower-case forms
// first, as curl and undici read them). The same settings drive undici's EnvHttpProxyAgent (fetch)
// and the AWS clients' agents, and NO_PROXY is matched the way undici matches it, so every adapter
// agrees on which hosts go through the proxy.

export type ProxySettings = { httpProxy?: string; httpsProxy?: string; noProxy: string };

type Env = Record<string, string | undefined>;

const DEFAULT_PORTS: Record<string, number> = { "http:": 80, "https:": 443 };

/** The proxy settings in `env`, or undefined when no proxy variable is set. */
export function proxySettings(env: Env): ProxySettings | undefined {
  const httpProxy = env.http_proxy || env.HTTP_PROXY || undefined;
  const httpsProxy = env.https_proxy || env.HTTPS_PROXY || undefined;
  if (!httpProxy && !httpsProxy) return undefined;
  return { httpProxy, httpsProxy, noProxy: env.no_proxy ?? env.NO_PROXY ?? "" };
}

type NoProxyEntry = { hostname: string; port: number };

function noProxyEntries(value: string): NoProxyEntry[] {
  return value
    .split(/[,\s]/)
    .filter((entry) => entry !== "")
    .map((entry) => {
      const parsed = /^(.+):(\d+)$/.exec(entry);
      return {
        // A leading "." or "*." means the domain and its subdomains, which a bare name means too.
        hostname: (parsed ? parsed[1] : entry).replace(/^\*?\./, "").toLowerCase(),
        port: parsed ? Number.parseInt(parsed[2], 10) : 0,
      };
    });
}

/** Decides per URL whether it goes through the proxy, and which one. */
export class ProxyRoutes {
  private readonly entries: NoProxyEntry[];

  constructor(readonly settings: ProxySettings) {
    this.entries = noProxyEntries(settings.noProxy);
  }

  /** The proxy URL for `target`, or undefined when NO_PROXY exempts it. */
  proxyFor(target: string): string | undefined {
    const url = new URL(target);
    // `host` keeps the brackets of an IPv6 address, which NO_PROXY entries also carry.
    const hostname = url.host.replace(/:\d*$/, "").toLowerCase();
    const port = Number.parseInt(url.port, 10) || DEFAULT_PORTS[url.protocol] || 0;
    if (this.settings.noProxy.trim() === "*") return undefined;
    for (const entry of this.entries) {
      if (entry.port && entry.port !== port) continue;
      if (hostname === entry.hostname || hostname.endsWith(`.${entry.hostname}`)) return undefined;
    }
    return url.protocol === "https:" ? (this.settings.httpsProxy ?? this.settings.httpProxy) : this.settings.httpProxy;
  }
}
