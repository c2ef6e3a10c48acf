import { IConstruct } from 'constructs';
import { propError } from './errors';
import { toDnsLabel } from '../../contract/names';

/**
 * The default name of an object that holds or serves data: the construct id as a DNS label
 * (`Postgres_Data` -> `postgres-data`). Not the construct path: renaming or moving a parent
 * chart must not rename a claim, a class or a provisioner, or volumes are stranded.
 *
 * @throws Error naming `prop` when the id has no letter or digit to make a name from.
 */
export function nameFromId(scope: IConstruct, where: string, prop: string): string {
  const id = scope.node.id;
  if (!/[A-Za-z0-9]/.test(id)) {
    throw propError(where, prop, undefined, `cannot be derived from the construct id ${JSON.stringify(id)}, which has no letter or digit`,
      `set ${prop}, or give the construct an id such as "data"`);
  }
  return toDnsLabel(id);
}
