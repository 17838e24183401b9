// What the account can see of the exchange: discovery -> API roots ->
// collections (with can_read / can_write), loaded once per session and shared
// by the views (titles for collection ids, the publisher role).

import { taxii, samePath } from './api.js';

let pending = null;

export function resetCatalog() {
  pending = null;
}

// The root's name as the console's URLs carry it: the path without slashes.
export const rootName = (path) => path.replace(/^\/+|\/+$/g, '');
export const rootPath = (name) => `/${rootName(name)}/`;

async function fetchCatalog() {
  const disc = await taxii('/taxii2/');
  const roots = [];
  const skipped = [];
  for (const url of disc.api_roots || []) {
    let path;
    try {
      path = new URL(samePath(url), location.href).pathname;
    } catch {
      skipped.push(url); // on another host: the console does not follow it
      continue;
    }
    if (!path.endsWith('/')) path += '/';
    roots.push({ path, name: rootName(path), url });
  }
  await Promise.all(
    roots.map(async (r) => {
      try {
        const res = await taxii(`${r.path}collections/`);
        r.collections = res.collections || [];
      } catch (e) {
        r.collections = [];
        r.error = e;
      }
    }),
  );
  return { title: disc.title, description: disc.description, defaultRoot: disc.default, roots, skipped };
}

export function loadCatalog() {
  if (!pending) {
    pending = fetchCatalog();
    pending.catch(() => {
      pending = null;
    });
  }
  return pending;
}

// Synchronous form for table cells once the catalog is loaded.
let known = new Map();
export async function collectionNames() {
  try {
    const cat = await loadCatalog();
    known = new Map();
    for (const r of cat.roots) for (const c of r.collections) known.set(c.id, c.title || c.alias || c.id);
  } catch {
    // ids are shown
  }
  return known;
}
