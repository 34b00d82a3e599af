import { join } from 'node:path';
import { mkdir, rm } from 'node:fs/promises';
import type { ServiceContext } from '../../runtime/runtime.js';
import { download, DownloadError } from '../../core/download.js';
import type { UplinkConfig } from './settings.js';
import { Refused } from './inbound.js';

export interface CatalogClaim {
  url: string;
  sha256: string;
  size: number;
  version: string;
}

/**
 * A catalog update from store IT as a claim check: the file is downloaded (resumed
 * after a cut, never more than `uplink.maxCatalogBytes` or the claimed size), its
 * sha256 checked, and only then handed to the catalog service's Import, which swaps
 * the whole catalog in one transaction (a strict import: one bad row refuses the file).
 * Any refusal leaves the catalog as it was.
 */
export async function applyCatalog(ctx: ServiceContext, config: UplinkConfig, claim: CatalogClaim, by: string, id: string): Promise<unknown> {
  if (claim.size > config.maxCatalogBytes) {
    throw new Refused(`catalog ${claim.version} is ${claim.size} bytes, over uplink.maxCatalogBytes ${config.maxCatalogBytes}; the catalog is unchanged`);
  }
  const dir = join(ctx.stateDir, 'uplink-downloads');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const format = /\.csv(\?|$)/i.test(new URL(claim.url).pathname) ? 'csv' : 'json';
  const dest = join(dir, `catalog-${claim.sha256}.${format}`);
  try {
    await download({
      url: claim.url,
      dest,
      sha256: claim.sha256,
      size: claim.size,
      maxBytes: config.maxCatalogBytes,
      retries: 3,
      backoffMs: 500,
      backoffMaxMs: 5000,
    });
  } catch (err) {
    if (err instanceof DownloadError)
      throw new Refused(`catalog ${claim.version} from ${claim.url} refused (${err.reason}): ${err.message}; the catalog is unchanged`);
    throw err;
  }
  try {
    let result: unknown;
    try {
      result = await ctx.request('catalog', 'Import', { path: dest, format, strict: true }, 120_000);
    } catch (err) {
      throw new Refused(`catalog ${claim.version} refused by the catalog service: ${(err as Error).message}; the catalog is unchanged`);
    }
    ctx.log.info({ version: claim.version, sha256: claim.sha256, by, command: id }, `catalog ${claim.version} from store IT imported`);
    return { version: claim.version, import: result };
  } finally {
    await rm(dest, { force: true });
  }
}
