/**
 * The Kibana saved objects file: what is checked in is what the generator writes, every line
 * is a saved object Kibana's import accepts in shape, every reference resolves to an object in
 * the file, and every field a chart over the platform's own data streams reads is in their
 * Elasticsearch mappings.
 */
import { readFileSync } from 'node:fs';
import { FEEDBACK_MAPPINGS, STYLIZE_EVENT_MAPPINGS } from '@nst/runtime';
import { describe, expect, it } from 'vitest';
import { NDJSON_FILE, ndjson, type SavedObject } from '../scripts/kibana-saved-objects';

const text = readFileSync(NDJSON_FILE, 'utf8');
const objects = text
  .trim()
  .split('\n')
  .map((line) => JSON.parse(line) as SavedObject);
const key = (type: string, id: string) => `${type}:${id}`;
const byKey = new Map(objects.map((object) => [key(object.type, object.id), object]));

describe('Kibana saved objects (observability/kibana/nst-saved-objects.ndjson)', () => {
  it('is what observability/scripts/kibana-saved-objects.ts writes', () => {
    expect(text, 'run: node --import tsx observability/scripts/kibana-saved-objects.ts').toBe(ndjson());
  });

  it('holds one object per line, each with a unique type and id, a title and references', () => {
    expect(byKey.size).toBe(objects.length);
    for (const object of objects) {
      expect(['index-pattern', 'visualization', 'dashboard']).toContain(object.type);
      expect(object.id).toMatch(/^nst-[a-z0-9-]+$/);
      expect(typeof object.attributes['title']).toBe('string');
      expect(Array.isArray(object.references)).toBe(true);
    }
    expect(objects.filter((o) => o.type === 'dashboard').map((o) => o.attributes['title'])).toEqual([
      'NST · Traffic and latency by style and version',
      'NST · Approval rate by version',
      'NST · Rollouts',
      'NST · Training jobs',
    ]);
  });

  it('resolves every reference, and every dashboard panel has one', () => {
    for (const object of objects) {
      for (const reference of object.references) {
        expect(byKey.has(key(reference.type, reference.id)), `${object.id} -> ${reference.type}:${reference.id}`).toBe(true);
      }
      const meta = object.attributes['kibanaSavedObjectMeta'] as { searchSourceJSON: string } | undefined;
      if (meta) {
        const source = JSON.parse(meta.searchSourceJSON) as { indexRefName?: string };
        if (source.indexRefName) expect(object.references.map((r) => r.name)).toContain(source.indexRefName);
      }
      if (object.type === 'dashboard') {
        const panels = JSON.parse(object.attributes['panelsJSON'] as string) as { panelRefName: string }[];
        expect(panels.length).toBeGreaterThan(0);
        for (const panel of panels) expect(object.references.map((r) => r.name)).toContain(panel.panelRefName);
      }
    }
  });

  it('charts over the platform data streams read only mapped fields', () => {
    const mapped: Record<string, Set<string>> = {
      'nst-stylize-events': new Set(Object.keys(STYLIZE_EVENT_MAPPINGS.properties)),
      'nst-feedback': new Set(Object.keys(FEEDBACK_MAPPINGS.properties)),
    };
    let checked = 0;
    for (const object of objects.filter((o) => o.type === 'visualization')) {
      const state = JSON.parse(object.attributes['visState'] as string) as {
        aggs: { params: { field?: string } }[];
        params: { index_pattern?: string; series?: { terms_field?: string }[] };
      };
      const view = object.references[0]?.id ?? state.params.index_pattern?.replace(/\*$/, '');
      const fields = mapped[view ?? ''];
      if (!fields) continue;
      const used = [...state.aggs.map((a) => a.params.field), ...(state.params.series ?? []).map((s) => s.terms_field)].filter((f): f is string => !!f);
      for (const field of used) expect(fields.has(field), `${object.id} reads ${field}`).toBe(true);
      checked++;
    }
    expect(checked).toBeGreaterThanOrEqual(8);
  });
});
