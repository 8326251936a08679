/**
 * Checks the wizard runs before it asks the server, with the limits the original
 * containerization service applied; the server checks everything again and its 400s
 * are shown the same way, beside the field they name.
 */
import { trans } from './i18n';

export const MAX_NAME = 128;
export const MAX_DESCRIPTION = 1024;
const NAME_START = /^[A-Za-z0-9]/;
const NAME_CHARACTER = /[A-Za-z0-9_-]/;
/** A repository path in the Docker reference grammar: lower-case components joined by /. */
const REPOSITORY_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

/** Messages by dotted request field (`name`, `variables.2.name`, `image.repository`). */
export type FieldErrors = Record<string, string>;

/** The characters of `text` that `allowed` refuses, each once, quoted: `" ", "!"`. */
function refused(text: string, allowed: RegExp): string {
  const found = [...new Set([...text].filter(character => !allowed.test(character)))];
  return found.map(character => JSON.stringify(character)).join(', ');
}

/** The hint beside the field gives the rule; the error says what in this name breaks it. */
export function checkName(name: string): string | null {
  if (!name) {
    return trans.__('name is missing: fill it in');
  }
  if (name.length > MAX_NAME) {
    return trans.__('name is %1 characters long: remove %2', name.length, name.length - MAX_NAME);
  }
  const bad = refused(name, NAME_CHARACTER);
  if (bad) {
    return trans.__('%1 cannot be in a name', bad);
  }
  if (!NAME_START.test(name)) {
    return trans.__('%1 cannot start a name', JSON.stringify(name[0]));
  }
  return null;
}

export function checkDescription(description: string): string | null {
  if (description.length > MAX_DESCRIPTION) {
    return trans.__(
      'description is %1 characters long: remove %2',
      description.length,
      description.length - MAX_DESCRIPTION
    );
  }
  return null;
}

/** A repository inside the registry (`analyses/temperature`), as registries accept it. */
export function checkRepository(repository: string): string | null {
  if (!repository) {
    return trans.__('repository is missing: pick one or name a new one');
  }
  if (repository !== repository.toLowerCase()) {
    return trans.__(
      'repository names are lower case: %1, not %2',
      repository.toLowerCase(),
      repository
    );
  }
  const broken = repository.split('/').find(part => !REPOSITORY_COMPONENT.test(part));
  if (broken !== undefined) {
    return broken === ''
      ? trans.__('repository %1 has an empty part between slashes', repository)
      : trans.__(
          'repository part %1 must be letters and digits, joined by single ., _, __ or -',
          JSON.stringify(broken)
        );
  }
  return null;
}

export function checkTag(tag: string): string | null {
  if (tag && !TAG.test(tag)) {
    return trans.__(
      'tag %1: at most 128 letters, digits, _, . or -, not starting with . or -',
      JSON.stringify(tag)
    );
  }
  return null;
}
