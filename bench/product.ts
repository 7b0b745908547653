// The code under test, loaded from the compiled build when it is up to date
// (what production runs), else from the sources. Through tsx every named
// function expression gets a runtime __name() call, which makes hot code
// measurably slower than the tsc output, so the build is preferred.
import { readdirSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO_ROOT } from './child.js';

type Review = typeof import('../src/sidecar/review.js');
type Store = typeof import('../src/cluster/store.js');
type AdmitterModule = typeof import('../src/cluster/admitter.js');
type App = typeof import('../src/http/app.js');
type MetricsModule = typeof import('../src/metrics.js');
type Files = typeof import('../src/tls/files.js');

export interface Product {
  /** Where the code came from: dist (compiled) or src (through tsx). */
  root: 'dist' | 'src';
  review: Review['review'];
  ClusterStore: Store['ClusterStore'];
  localAdmitter: AdmitterModule['localAdmitter'];
  buildApp: App['buildApp'];
  MAX_BODY_BYTES: number;
  createMetrics: MetricsModule['createMetrics'];
  readServingPair: Files['readServingPair'];
}

type ClaimsModule = typeof import('../src/cluster/claims.js');
type KubeModule = typeof import('../src/cluster/kube.js');
type ReservationsModule = typeof import('../src/cluster/reservations.js');

/** What the claims benchmark needs: the Admitter with claims in the API server (loads the API client). */
export interface ClaimsProduct {
  root: 'dist' | 'src';
  Admitter: AdmitterModule['Admitter'];
  ApiClaims: ClaimsModule['ApiClaims'];
  KubeClient: KubeModule['KubeClient'];
  Reservations: ReservationsModule['Reservations'];
  ClusterStore: Store['ClusterStore'];
}

export async function loadClaimsProduct(root: 'dist' | 'src' = productRoot()): Promise<ClaimsProduct> {
  const load = moduleLoader(root);
  const [admitter, claims, kube, reservations, store] = await Promise.all([
    load<AdmitterModule>('cluster/admitter.js'),
    load<ClaimsModule>('cluster/claims.js'),
    load<KubeModule>('cluster/kube.js'),
    load<ReservationsModule>('cluster/reservations.js'),
    load<Store>('cluster/store.js'),
  ]);
  return {
    root,
    Admitter: admitter.Admitter,
    ApiClaims: claims.ApiClaims,
    KubeClient: kube.KubeClient,
    Reservations: reservations.Reservations,
    ClusterStore: store.ClusterStore,
  };
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(path);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [path] : [];
  });
}

/** The compiled build; BENCH_DIST_DIR points elsewhere (e.g. a private `tsc --outDir` while others rebuild dist/). */
export const DIST_DIR = process.env.BENCH_DIST_DIR ? resolve(process.env.BENCH_DIST_DIR) : join(REPO_ROOT, 'dist');

/** Every src/**\/*.ts has a compiled .js at least as new. */
export function distIsFresh(): boolean {
  const src = join(REPO_ROOT, 'src');
  try {
    return sourceFiles(src).every((file) => {
      const compiled = join(DIST_DIR, relative(src, file)).replace(/\.ts$/, '.js');
      return statSync(compiled).mtimeMs >= statSync(file).mtimeMs;
    });
  } catch {
    return false;
  }
}

/** `BENCH_SOURCE=src|dist` forces one; by default dist when fresh. */
export function productRoot(): 'dist' | 'src' {
  const forced = process.env.BENCH_SOURCE;
  if (forced === 'src' || forced === 'dist') return forced;
  return distIsFresh() ? 'dist' : 'src';
}

/** Imports a module of the product by its path below src/ (as .js), from the build or the sources. */
export function moduleLoader(root: 'dist' | 'src'): <T>(path: string) => Promise<T> {
  const dir = root === 'dist' ? DIST_DIR : join(REPO_ROOT, 'src');
  return <T>(path: string) => import(pathToFileURL(join(dir, path)).href) as Promise<T>;
}

export async function loadProduct(root: 'dist' | 'src' = productRoot()): Promise<Product> {
  const load = moduleLoader(root);
  const [review, store, admitter, app, metrics, files] = await Promise.all([
    load<Review>('sidecar/review.js'),
    load<Store>('cluster/store.js'),
    load<AdmitterModule>('cluster/admitter.js'),
    load<App>('http/app.js'),
    load<MetricsModule>('metrics.js'),
    load<Files>('tls/files.js'),
  ]);
  return {
    root,
    review: review.review,
    ClusterStore: store.ClusterStore,
    localAdmitter: admitter.localAdmitter,
    buildApp: app.buildApp,
    MAX_BODY_BYTES: app.MAX_BODY_BYTES,
    createMetrics: metrics.createMetrics,
    readServingPair: files.readServingPair,
  };
}
