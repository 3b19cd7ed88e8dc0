/**
 * k8s/ is applied with `kubectl apply -f k8s/`, and no cluster runs here: every
 * document is validated against the Kubernetes schemas (kubernetes-models), then
 * cross-checked for what schemas cannot see — names, labels, ports, probe paths,
 * the image tag, the security context, and that the ConfigMaps carry exactly the
 * monitoring files of the repo.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { Deployment, StatefulSet } from 'kubernetes-models/apps/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { Role, RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import { ConfigMap, Namespace, Service, ServiceAccount } from 'kubernetes-models/v1';
import type { IContainer, IPodTemplateSpec } from 'kubernetes-models/v1';
import { CONFIGMAP_FILE, readDashboards, renderConfigMap } from '../../scripts/gen-k8s-dashboards.js';
import {
  cleanup,
  MAIN,
  startNode,
  stopAll,
  tempDir,
  waitFor,
  type NodeProcess,
} from '../helpers/processes.js';

const ROOT = join(import.meta.dirname, '..', '..');
const K8S = join(ROOT, 'k8s');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
const IMAGE = `chainmesh:${pkg.version}`;

/** Every kind the manifests may use; anything else fails the test instead of going unvalidated. */
const MODELS = {
  'v1/Namespace': Namespace,
  'v1/Service': Service,
  'v1/ServiceAccount': ServiceAccount,
  'v1/ConfigMap': ConfigMap,
  'apps/v1/StatefulSet': StatefulSet,
  'apps/v1/Deployment': Deployment,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'rbac.authorization.k8s.io/v1/Role': Role,
  'rbac.authorization.k8s.io/v1/RoleBinding': RoleBinding,
} as const;
type Model = InstanceType<(typeof MODELS)[keyof typeof MODELS]>;

interface Doc {
  file: string;
  model: Model;
}

const files = readdirSync(K8S).sort();
const docs: Doc[] = [];
for (const file of files) {
  for (const parsed of parseAllDocuments(readFileSync(join(K8S, file), 'utf8'))) {
    if (parsed.errors.length > 0)
      throw new Error(`${file}: ${parsed.errors.map((e) => e.message).join('; ')}`);
    const raw = parsed.toJS() as { apiVersion?: string; kind?: string } | null;
    if (raw === null) continue;
    const key = `${raw.apiVersion}/${raw.kind}`;
    const Ctor = (MODELS as Record<string, new (data: never) => Model>)[key];
    if (!Ctor) throw new Error(`${file}: no schema model for ${key}`);
    docs.push({ file, model: new Ctor(raw as never) });
  }
}

const ofKind = <T extends Model>(ctor: abstract new (...args: never[]) => T): T[] =>
  docs.map((d) => d.model).filter((m): m is T => m instanceof ctor);
const named = <T extends Model>(ctor: abstract new (...args: never[]) => T, name: string): T => {
  const found = ofKind(ctor).find((m) => m.metadata?.name === name);
  if (!found) throw new Error(`no ${ctor.name} named ${name}`);
  return found;
};

const workloads = [...ofKind(StatefulSet), ...ofKind(Deployment)];
const templateOf = (w: StatefulSet | Deployment): IPodTemplateSpec => w.spec!.template;
const chainmeshSets = ofKind(StatefulSet).filter(
  (s) => templateOf(s).metadata?.labels?.['app.kubernetes.io/name'] === 'chainmesh',
);
const chainmeshContainers = (): IContainer[] => chainmeshSets.flatMap((s) => templateOf(s).spec!.containers);
const envOf = (c: IContainer, name: string): string | undefined => c.env?.find((e) => e.name === name)?.value;
const selects = (selector: Record<string, string>, labels: Record<string, string> | undefined): boolean =>
  Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels?.[k] === v);
const namespaceName = (): string => ofKind(Namespace)[0]!.metadata!.name!;

describe('k8s manifests: files', () => {
  it('are numbered YAML files that sort in apply order, namespace first, no kustomization', () => {
    expect(files.length).toBeGreaterThanOrEqual(6);
    for (const f of files) expect(f).toMatch(/^\d{2}-[a-z0-9-]+\.yaml$/);
    expect(files).not.toContain('kustomization.yaml');
    expect(docs[0]!.model).toBeInstanceOf(Namespace);
    expect(ofKind(Namespace)).toHaveLength(1);
  });

  it('every document passes its Kubernetes schema', () => {
    expect(docs.length).toBeGreaterThanOrEqual(15);
    for (const { file, model } of docs) {
      expect(() => model.validate(), `${file} ${model.kind}/${model.metadata?.name}`).not.toThrow();
    }
  });

  it('every namespaced object lives in the one namespace', () => {
    const ns = namespaceName();
    for (const { file, model } of docs) {
      if (model instanceof Namespace) continue;
      expect(model.metadata?.namespace, `${file} ${model.kind}/${model.metadata?.name}`).toBe(ns);
    }
  });

  it('stays under the 256 KiB annotation limit of client-side kubectl apply', () => {
    for (const f of files) expect(readFileSync(join(K8S, f)).length, f).toBeLessThan(200 * 1024);
  });
});

describe('k8s manifests: wiring', () => {
  it('selectors match their pod template labels', () => {
    for (const w of workloads) {
      expect(
        selects(w.spec!.selector.matchLabels ?? {}, templateOf(w).metadata?.labels),
        w.metadata!.name,
      ).toBe(true);
    }
  });

  it('every Service and PodDisruptionBudget selects a workload, on a port that workload exposes', () => {
    for (const svc of ofKind(Service)) {
      const target = workloads.filter((w) =>
        selects(svc.spec!.selector ?? {}, templateOf(w).metadata?.labels),
      );
      expect(target, `service ${svc.metadata!.name}`).toHaveLength(1);
      const ports = templateOf(target[0]!).spec!.containers.flatMap((c) => c.ports ?? []);
      for (const p of svc.spec!.ports ?? []) {
        const match = ports.find(
          (cp) => cp.name === p.targetPort || cp.containerPort === (p.targetPort ?? p.port),
        );
        expect(match, `service ${svc.metadata!.name} port ${p.port}`).toBeDefined();
      }
    }
    for (const pdb of ofKind(PodDisruptionBudget)) {
      const target = workloads.filter((w) =>
        selects(pdb.spec!.selector?.matchLabels ?? {}, templateOf(w).metadata?.labels),
      );
      expect(target, `pdb ${pdb.metadata!.name}`).toHaveLength(1);
      expect((target[0]!.spec!.replicas ?? 1) > 1, 'a PDB on a single replica would block every drain').toBe(
        true,
      );
    }
  });

  it('StatefulSets are governed by headless Services and keep /data on volume claims', () => {
    expect(chainmeshSets.map((s) => s.metadata!.name).sort()).toEqual(['node', 'seed']);
    for (const set of chainmeshSets) {
      const svc = named(Service, set.spec!.serviceName!);
      expect(svc.spec!.clusterIP).toBe('None');
      const claim = set.spec!.volumeClaimTemplates?.[0]?.metadata?.name;
      expect(claim).toBeDefined();
      for (const c of templateOf(set).spec!.containers) {
        const dataDir = envOf(c, 'DATA_DIR') ?? '/data';
        expect(c.volumeMounts?.find((m) => m.mountPath === dataDir)?.name).toBe(claim);
      }
    }
    expect(named(StatefulSet, 'node').spec!.replicas).toBeGreaterThanOrEqual(3);
  });

  it('SEED_HOSTS names the seed Service and its port', () => {
    const ns = namespaceName();
    const seed = named(StatefulSet, 'seed');
    const node = named(StatefulSet, 'node');
    for (const c of templateOf(seed).spec!.containers) expect(envOf(c, 'SEED_HOSTS')).toBeUndefined();
    for (const c of templateOf(node).spec!.containers) {
      const hosts = envOf(c, 'SEED_HOSTS')?.split(',') ?? [];
      expect(hosts.length).toBeGreaterThan(0);
      for (const hostPort of hosts) {
        const [host, port] = hostPort.split(':') as [string, string];
        // `service`, `service.namespace` or `service.namespace.svc`: resolved through the
        // pod's DNS search path, so it works whatever the cluster domain is. A fully
        // qualified `….svc.cluster.local` breaks on clusters with another domain.
        const [svcName, svcNs, svcPart, ...rest] = host.split('.');
        expect(rest, `${hostPort}: no cluster domain (it is not always cluster.local)`).toEqual([]);
        expect(svcNs ?? ns, `${hostPort}: the seed Service's namespace`).toBe(ns);
        if (svcPart !== undefined) expect(svcPart).toBe('svc');
        const svc = named(Service, svcName!);
        expect(selects(svc.spec!.selector ?? {}, templateOf(seed).metadata?.labels)).toBe(true);
        expect(svc.spec!.ports?.map((p) => p.port)).toContain(Number(port));
      }
    }
  });

  it('advertises the pod IP from the downward API on the container port', () => {
    for (const c of chainmeshContainers()) {
      const podIp = c.env?.find((e) => e.name === 'POD_IP');
      expect(podIp?.valueFrom?.fieldRef?.fieldPath).toBe('status.podIP');
      const port = envOf(c, 'PORT') ?? '3000';
      expect(envOf(c, 'ADVERTISE_ADDR')).toBe(`$(POD_IP):${port}`);
      expect(c.ports?.map((p) => p.containerPort)).toContain(Number(port));
    }
  });

  it('probes use /healthz (liveness) and /readyz (readiness) on the node port', () => {
    for (const c of chainmeshContainers()) {
      const port = Number(envOf(c, 'PORT') ?? '3000');
      const portOf = (p: string | number | undefined) =>
        typeof p === 'number' ? p : c.ports?.find((cp) => cp.name === p)?.containerPort;
      expect(c.livenessProbe?.httpGet?.path).toBe('/healthz');
      expect(c.readinessProbe?.httpGet?.path).toBe('/readyz');
      for (const probe of [c.livenessProbe, c.readinessProbe, c.startupProbe]) {
        if (probe) expect(portOf(probe.httpGet?.port)).toBe(port);
      }
    }
  });

  it('Prometheus scrapes annotated pods on their container port, with RBAC for pod discovery', () => {
    for (const set of chainmeshSets) {
      const ann = templateOf(set).metadata?.annotations ?? {};
      expect(ann['prometheus.io/scrape']).toBe('true');
      expect(ann['prometheus.io/path']).toBe('/metrics');
      const ports = templateOf(set)
        .spec!.containers.flatMap((c) => c.ports ?? [])
        .map((p) => p.containerPort);
      expect(ports).toContain(Number(ann['prometheus.io/port']));
    }
    const prom = named(Deployment, 'prometheus');
    const sa = templateOf(prom).spec!.serviceAccountName!;
    named(ServiceAccount, sa);
    const binding = ofKind(RoleBinding).find((b) =>
      b.subjects?.some((s) => s.kind === 'ServiceAccount' && s.name === sa),
    );
    const role = named(Role, binding!.roleRef.name);
    const pods = role.rules?.find((r) => r.resources?.includes('pods'));
    expect(pods?.verbs).toEqual(expect.arrayContaining(['get', 'list', 'watch']));
    const config = named(ConfigMap, 'prometheus-config').data?.['prometheus.yml'] ?? '';
    expect(config).toContain('__meta_kubernetes_pod_annotation_prometheus_io_scrape');
    expect(config).toContain(`names: [${namespaceName()}]`);
    const cmVolume = templateOf(prom).spec!.volumes?.find((v) => v.configMap?.name === 'prometheus-config');
    expect(
      templateOf(prom).spec!.containers[0]!.volumeMounts?.find((m) => m.name === cmVolume?.name)?.mountPath,
    ).toBe('/etc/prometheus');
  });
});

describe('k8s manifests: image and security', () => {
  it(`chainmesh pods run ${IMAGE} with imagePullPolicy IfNotPresent`, () => {
    for (const c of chainmeshContainers()) {
      expect(c.image).toBe(IMAGE);
      expect(c.imagePullPolicy).toBe('IfNotPresent');
    }
  });

  it(`docker-compose.yml and the Dockerfile name the same version (${pkg.version})`, () => {
    const compose = readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8');
    // The default of `${CHAINMESH_IMAGE:-chainmesh:<version>}`.
    const images = [...compose.matchAll(/image: (?:\$\{CHAINMESH_IMAGE:-)?(chainmesh:[^\s}]+)/g)].map(
      (m) => m[1],
    );
    expect(images).toEqual([IMAGE, IMAGE]);
    expect(readFileSync(join(ROOT, 'Dockerfile'), 'utf8')).toMatch(
      new RegExp(`^ARG VERSION=${pkg.version}$`, 'm'),
    );
  });

  it('every pod runs as non-root with a read-only root filesystem, no capabilities, and resource limits', () => {
    for (const w of workloads) {
      const spec = templateOf(w).spec!;
      expect(spec.securityContext?.runAsNonRoot, w.metadata!.name).toBe(true);
      for (const c of spec.containers) {
        const where = `${w.metadata!.name}/${c.name}`;
        expect(c.securityContext?.readOnlyRootFilesystem, where).toBe(true);
        expect(c.securityContext?.allowPrivilegeEscalation, where).toBe(false);
        expect(c.securityContext?.capabilities?.drop, where).toContain('ALL');
        for (const k of ['cpu', 'memory']) {
          expect(c.resources?.requests?.[k], `${where} requests.${k}`).toBeDefined();
          expect(c.resources?.limits?.[k], `${where} limits.${k}`).toBeDefined();
        }
      }
    }
  });

  it("chainmesh pods run as the image's `node` user (uid 1000), which owns /data", () => {
    expect(readFileSync(join(ROOT, 'Dockerfile'), 'utf8')).toMatch(/^USER node$/m);
    for (const set of chainmeshSets) {
      expect(templateOf(set).spec!.securityContext?.runAsUser).toBe(1000);
      expect(templateOf(set).spec!.securityContext?.fsGroup).toBe(1000);
    }
  });
});

describe('k8s manifests: Grafana', () => {
  it('the dashboards ConfigMap is generated from monitoring/grafana/dashboards (byte-identical JSON)', () => {
    const files = readDashboards();
    expect([...files.keys()].sort()).toEqual(['chainmesh-node.json', 'chainmesh-overview.json']);
    expect(readFileSync(CONFIGMAP_FILE, 'utf8'), 'run: npx tsx scripts/gen-k8s-dashboards.ts').toBe(
      renderConfigMap(files),
    );
    const data = named(ConfigMap, 'grafana-dashboards').data ?? {};
    expect(Object.keys(data).sort()).toEqual([...files.keys()].sort());
    for (const [name, json] of files) {
      expect(data[name], name).toBe(json);
      expect(() => JSON.parse(data[name]!)).not.toThrow();
    }
  });

  it('the provisioning ConfigMap equals monitoring/grafana/provisioning, mounted where Grafana reads it', () => {
    const dir = join(ROOT, 'monitoring', 'grafana', 'provisioning');
    const data = named(ConfigMap, 'grafana-provisioning').data ?? {};
    expect(data['datasources.yml']).toBe(readFileSync(join(dir, 'datasources', 'prometheus.yml'), 'utf8'));
    expect(data['dashboards.yml']).toBe(readFileSync(join(dir, 'dashboards', 'chainmesh.yml'), 'utf8'));
    const grafana = templateOf(named(Deployment, 'grafana'));
    const mounts = grafana.spec!.containers[0]!.volumeMounts ?? [];
    const volumeFor = (cm: string) => grafana.spec!.volumes?.find((v) => v.configMap?.name === cm)?.name;
    const dashboardsMount = mounts.find((m) => m.name === volumeFor('grafana-dashboards'))?.mountPath;
    expect(data['dashboards.yml']).toContain(`path: ${dashboardsMount}`);
    const provisioning = mounts
      .filter((m) => m.name === volumeFor('grafana-provisioning'))
      .map((m) => m.mountPath);
    expect(provisioning.sort()).toEqual([
      '/etc/grafana/provisioning/dashboards/dashboards.yml',
      '/etc/grafana/provisioning/datasources/datasources.yml',
    ]);
    // The datasource URL resolves to the Prometheus Service.
    const url = new URL(/url: (\S+)/.exec(data['datasources.yml'] ?? '')![1]!);
    expect(named(Service, url.hostname).spec!.ports?.map((p) => p.port)).toContain(Number(url.port));
  });
});

/** The probe paths must be routes the real node answers (not 404), checked on the built node. */
describe('k8s manifests: probe paths against the real node', () => {
  let node: NodeProcess | undefined;
  let dataDir = '';

  beforeAll(async () => {
    if (!existsSync(MAIN))
      throw new Error(`${MAIN} is missing: run \`npm run build\` (make test does) first`);
    dataDir = tempDir('chainmesh-k8s-probe-');
    node = await startNode({ name: 'probe', dataDir, env: { LOG_LEVEL: 'error' } });
  });

  afterAll(async () => {
    if (node) await stopAll([node]);
    if (dataDir) cleanup(dataDir);
  });

  it('answers the liveness and readiness probe paths', async () => {
    const paths = new Set<string>();
    for (const c of chainmeshContainers()) {
      for (const p of [c.livenessProbe, c.readinessProbe, c.startupProbe])
        if (p?.httpGet?.path) paths.add(p.httpGet.path);
    }
    expect([...paths].sort()).toEqual(['/healthz', '/readyz']);
    for (const path of paths) {
      // A node without seeds is alone by design, so it becomes ready as well as live.
      await waitFor(`${path} answers 200`, async () => (await fetch(`${node!.url}${path}`)).status === 200, {
        timeoutMs: 30_000,
        intervalMs: 200,
      });
    }
  });
});
