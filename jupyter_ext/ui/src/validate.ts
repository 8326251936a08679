/**
 * Checks the wizard runs before it asks the server, with the limits the original
 * containerization service applied; the server checks everything again and its 400s
 * are shown the same way, beside the field they name.
 */
export const MAX_NAME = 128;
export const MAX_DESCRIPTION = 1024;
const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;

/** Messages by dotted request field (`name`, `variables.2.name`, `image.repository`). */
export type FieldErrors = Record<string, string>;

export function checkName(name: string): string | null {
  if (!name) {
    return 'name is missing: fill it in';
  }
  if (name.length > MAX_NAME) {
    return `name is ${name.length} characters long: use at most ${MAX_NAME}`;
  }
  if (!NAME_PATTERN.test(name)) {
    return 'name must start with a letter or digit, then letters, digits, _ or -';
  }
  return null;
}

export function checkDescription(description: string): string | null {
  if (description.length > MAX_DESCRIPTION) {
    return `description is ${description.length} characters long: use at most ${MAX_DESCRIPTION}`;
  }
  return null;
}
