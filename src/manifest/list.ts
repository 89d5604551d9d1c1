/** A v1/List (what `kubectl get -o yaml` prints for several objects): its items, each read as a document of its own. */
import { checkKeys, Issues, list, type Obj } from './fields.js';

export function listItems(is: Issues, value: Obj): unknown[] {
  checkKeys(is, value, '', ['apiVersion', 'kind', 'items', 'metadata']);
  if (value.apiVersion !== 'v1') is.error('apiVersion', `must be "v1", got ${JSON.stringify(value.apiVersion ?? null)}`);
  return list(is, value.items, 'items') ?? [];
}
