// The many-instances example (teams.ts): several databases from one typed list, in one chart.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Size, Testing } from 'cdk8s';
import { PostgresSynth } from '../lib';
import { PostgresqlExerciseChart } from '../main';
import { TEAMS, TeamDatabasesChart } from '../teams';
import { StrictSchema } from '../validation/strict-schema';
import { allOfKind, errorOf, synth } from './util';

function teamsManifest(teams = TEAMS) {
  const chart = new TeamDatabasesChart(Testing.app(), 'teams', { teams });
  return { chart, manifest: synth(chart) };
}

const matches = (selector: { [k: string]: string }, labels: { [k: string]: string } = {}) =>
  Object.entries(selector).every(([k, v]) => labels[k] === v);

test('every team gets its own size, storage class and replicas', () => {
  const { chart, manifest } = teamsManifest();
  for (const team of TEAMS) {
    const db = chart.databases[team.team];
    expect([db.statefulSetName, db.storage.asString(), db.replicas]).toEqual([team.team, team.storage.asString(), team.replicas ?? 1]);
    const sts = allOfKind(manifest, 'StatefulSet').find((s) => s.metadata.name === team.team);
    expect(sts.spec.volumeClaimTemplates[0].spec.storageClassName).toBe(team.storageClassName);
    expect(sts.spec.volumeClaimTemplates[0].spec.resources.requests.storage).toBe(team.storage.asString());
  }
});

test('names, selectors, Secrets and Services never collide', () => {
  const { chart, manifest } = teamsManifest();
  const names = manifest.map((o) => `${o.kind}/${o.metadata.name}`);
  expect(new Set(names).size).toBe(names.length);

  const secretNames = TEAMS.map((t) => chart.databases[t.team].secretName);
  expect(new Set(secretNames).size).toBe(TEAMS.length);

  // no Service, PodDisruptionBudget, NetworkPolicy or StatefulSet of one team selects another team's database pods
  const statefulSets = allOfKind(manifest, 'StatefulSet');
  for (const sts of statefulSets) {
    const owner = sts.metadata.name;
    const podLabels = sts.spec.template.metadata.labels;
    const selecting = [
      ...allOfKind(manifest, 'Service').map((s) => ({ who: `Service/${s.metadata.name}`, selector: s.spec.selector })),
      ...allOfKind(manifest, 'PodDisruptionBudget').map((p) => ({ who: `PodDisruptionBudget/${p.metadata.name}`, selector: p.spec.selector.matchLabels })),
      ...allOfKind(manifest, 'NetworkPolicy').map((p) => ({ who: `NetworkPolicy/${p.metadata.name}`, selector: p.spec.podSelector.matchLabels })),
      ...statefulSets.map((s) => ({ who: `StatefulSet/${s.metadata.name}`, selector: s.spec.selector.matchLabels })),
    ].filter(({ selector }) => selector && matches(selector, podLabels)).map(({ who }) => who);
    expect(selecting.every((who) => who.includes(owner))).toBe(true);
    expect(selecting.length).toBeGreaterThan(1);
  }
});

test('clients are admitted to their team\'s database only', () => {
  const { manifest } = teamsManifest();
  for (const deployment of allOfKind(manifest, 'Deployment')) {
    const podLabels = deployment.spec.template.metadata.labels;
    const admitting = allOfKind(manifest, 'NetworkPolicy')
      .filter((p) => (p.spec.ingress ?? []).some((rule: any) => rule.from.some((peer: any) => matches(peer.podSelector.matchLabels, podLabels))))
      .map((p) => p.metadata.labels.team);
    expect(admitting).toEqual([deployment.metadata.labels.team]);
  }
});

test('every object matches the Kubernetes 1.27 schema', () => {
  const schema = new StrictSchema();
  expect(teamsManifest().manifest.flatMap((o) => schema.validate(o).map((p) => `${o.kind}/${o.metadata.name}${p}`))).toEqual([]);
});

test('a mistake in one entry names that entry', () => {
  const teams = TEAMS.map((t) => t.team === 'search' ? { ...t, storage: Size.gibibytes(0), storageClassName: 'Fast SSD' } : t);
  const message = errorOf(() => teamsManifest(teams));
  expect(message).toContain('[teams/search] PostgresStatefulSet: storage must be larger than zero, got 0Gi');
  expect(message).toContain('[teams/search] PostgresStatefulSet: storageClassName must be a DNS-1123 subdomain');
  expect(message).not.toMatch(/\[teams\/(payments|analytics)\]/);
});

test('a mistake in a team leaves no manifest of the exercise either (main.ts writes both apps or neither)', () => {
  // GIVEN the example's two apps, in a temporary dist/, with a mistake in one team
  const dist = fs.mkdtempSync(path.join(os.tmpdir(), 'dist-'));
  const stderr = jest.spyOn(console, 'error').mockImplementation(() => undefined);
  try {
    const exercise = new App({ outdir: dist, recordConstructMetadata: false });
    new PostgresqlExerciseChart(exercise, 'postgresql');
    const teams = new App({ outdir: path.join(dist, 'teams'), recordConstructMetadata: false });
    new TeamDatabasesChart(teams, 'teams', { teams: TEAMS.map((t) => t.team === 'search' ? { ...t, replicas: 0 } : t) });
    // WHEN both are synthesized as main.ts does
    expect(PostgresSynth.synthAllOrReport([exercise, teams])).toBe(false);
    // THEN the mistake is reported and nothing is written
    expect(stderr.mock.calls.join('\n')).toContain('[teams/search] PostgresStatefulSet: replicas must be a positive integer, got 0');
    expect(process.exitCode).toBe(1);
    expect(fs.readdirSync(dist, { recursive: true })).toEqual([]);
    // AND without the mistake, both are written
    process.exitCode = undefined;
    const ok = new App({ outdir: path.join(dist, 'teams'), recordConstructMetadata: false });
    new TeamDatabasesChart(ok, 'teams', { teams: TEAMS });
    expect(PostgresSynth.synthAllOrReport([exercise, ok])).toBe(true);
    expect(process.exitCode).toBeUndefined();
    expect(fs.readdirSync(dist, { recursive: true }).map(String).sort()).toEqual(['postgresql.k8s.yaml', 'teams', path.join('teams', 'teams.k8s.yaml')]);
  } finally {
    process.exitCode = undefined;
    stderr.mockRestore();
    fs.rmSync(dist, { recursive: true, force: true });
  }
});
