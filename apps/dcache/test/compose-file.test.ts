import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { readConfigFile } from '@kvforge/common-http';
import { describe, expect, it } from 'vitest';

// The repo's docker-compose.yml, checked without Docker (no engine, no compose plugin here). It
// lives in this app's tests because this app has a YAML reader at hand (common-http's).
const root = new URL('../../../', import.meta.url).pathname;
const run = promisify(execFile);

interface Service {
  image?: string;
  build?: { context: string; args: { APP: string } };
  command?: string[];
  environment?: Record<string, unknown>;
  ports?: string[];
  volumes?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[]; interval: string; retries: number };
}
const compose = readConfigFile(`${root}docker-compose.yml`) as { services: Record<string, Service> };
const services = Object.entries(compose.services);
const appServices = services.filter(([, service]) => service.build !== undefined);
// An app is a directory with a package.json (the deploy check may hold a stray directory here meanwhile).
const SERVER_APPS = readdirSync(`${root}apps`).filter(
  (name) => name !== 'memcache-cli' && existsSync(`${root}apps/${name}/package.json`),
);

describe('docker-compose.yml', () => {
  it('runs every server app from the one Dockerfile, with a command (the image CMD is --help) and a health check', () => {
    expect(new Set(appServices.map(([, service]) => service.build?.args.APP))).toEqual(new Set(SERVER_APPS));
    for (const [name, service] of appServices) {
      expect(service.build?.context, name).toBe('.');
      expect(service.image, name).toBe(`kvforge/${service.build?.args.APP}`);
      expect(Array.isArray(service.command), name).toBe(true);
      expect(service.command, name).not.toContain('--help');
      expect(service.healthcheck?.test[0], name).toBe('CMD');
    }
    expect(existsSync(`${root}Dockerfile`)).toBe(true);
  });

  it('names only defined services in depends_on, with valid conditions; host ports are unique', () => {
    const names = new Set(services.map(([name]) => name));
    const conditions = new Set(['service_started', 'service_healthy', 'service_completed_successfully']);
    for (const [name, service] of services) {
      for (const [dependency, { condition }] of Object.entries(service.depends_on ?? {})) {
        expect(names.has(dependency), `${name} → ${dependency}`).toBe(true);
        expect(conditions.has(condition), `${name} → ${dependency}`).toBe(true);
        if (condition === 'service_healthy')
          expect(
            compose.services[dependency]?.healthcheck,
            `${dependency} has no health check`,
          ).toBeDefined();
      }
    }
    const hostPorts = services.flatMap(([, service]) =>
      (service.ports ?? []).map((port) => port.split(':')[0]),
    );
    expect(new Set(hostPorts).size).toBe(hostPorts.length);
  });

  it('mounts only files and directories that exist in the repo', () => {
    for (const [name, service] of services) {
      for (const volume of service.volumes ?? []) {
        const source = volume.split(':')[0]!;
        if (source.startsWith('./'))
          expect(existsSync(`${root}${source.slice(2)}`), `${name}: ${source}`).toBe(true);
      }
    }
  });

  it('sets only environment variables the app knows (each app --help lists its variables)', async () => {
    const tsx = new URL('../node_modules/.bin/tsx', import.meta.url).pathname;
    const byApp = new Map<string, Set<string>>();
    for (const [, service] of appServices) {
      const app = service.build!.args.APP;
      for (const key of Object.keys(service.environment ?? {}))
        byApp.set(app, (byApp.get(app) ?? new Set()).add(key));
    }
    expect(byApp.size).toBeGreaterThanOrEqual(4);
    await Promise.all(
      [...byApp].map(async ([app, keys]) => {
        const { stdout } = await run(
          tsx,
          ['--conditions=@kvforge/source', `${root}apps/${app}/src/main.ts`, '--help'],
          {
            cwd: root,
          },
        );
        for (const key of keys) expect(stdout, `${app}: ${key}`).toMatch(new RegExp(`\\b${key}\\b`));
      }),
    );
  }, 120_000);

  it('Prometheus scrapes compose services, and every job the alert rules name is scraped', () => {
    const prometheus = readConfigFile(`${root}deploy/prometheus/prometheus.yml`) as {
      scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[];
    };
    const jobs = new Set(prometheus.scrape_configs.map((config) => config.job_name));
    for (const config of prometheus.scrape_configs)
      for (const target of config.static_configs.flatMap((group) => group.targets))
        expect(compose.services[target.split(':')[0]!], target).toBeDefined();
    const ruleFiles = readdirSync(`${root}deploy/prometheus`).filter((name) => name.endsWith('-rules.yml'));
    expect(ruleFiles).toHaveLength(4);
    for (const file of ruleFiles) {
      const text = readFileSync(`${root}deploy/prometheus/${file}`, 'utf8');
      for (const [, job] of text.matchAll(/job="([^"]+)"/g))
        expect(jobs.has(job!), `${file}: job ${job}`).toBe(true);
    }
  });
});
