import type { ApiDocsOptions } from '@kvforge/common-http';

/** What /docs of each kvstore binary is titled: the apps and the route-coverage test share these. */
export const CONFIG_SERVER_API_DOCS: ApiDocsOptions = {
  title: 'kvstore ConfigServer API',
  description:
    "Bucket tables, namespaces, scaling, migration and failover of the proxies' Redis masters (/kvstore/cs), and /metrics.",
};

export const PROXY_API_DOCS: ApiDocsOptions = {
  title: 'kvstore proxy API',
  description: 'Stats, runtime config and key patterns of one KvStoreProxy (/kvstore/proxy), and /metrics.',
};
