import type { ModuleSite } from './core';

/**
 * A host's `modulePath(site, layer)` from a table: the layer's module path (`layerPath(i)`) joined with the site's
 * suffix (`''`: the layer module itself); `fixed` sites have one path whatever the layer (BERT's `pooler`); a site in
 * neither table is one the host does not have (undefined).
 */
export function modulePathTable(
  layerPath: (i: number) => string,
  suffixes: Readonly<Partial<Record<ModuleSite, string>>>,
  fixed: Readonly<Partial<Record<ModuleSite, string>>> = {},
): (site: ModuleSite, i: number) => string | undefined {
  return (site, i) => {
    const path = fixed[site];
    if (path !== undefined) return path;
    const suffix = suffixes[site];
    if (suffix === undefined) return undefined;
    return suffix === '' ? layerPath(i) : `${layerPath(i)}.${suffix}`;
  };
}
