// The inputs of the configuration form, each bound to one /configurations key of the draft.
import { NumberInput, PasswordInput, Select, Switch, Textarea, TextInput } from '@mantine/core';
import type { ReactNode } from 'react';
import { scopeOptions, type Draft, type FieldErrors, type Value } from './model';

export interface SettingsForm {
  draft: Draft;
  saved: Draft;
  errors: FieldErrors;
  set(key: string, value: Value): void;
  /** False when the server says the key cannot change (set in the environment, or Harbor's rules). */
  editable(key: string): boolean;
}

interface FieldProps {
  form: SettingsForm;
  name: string;
  label: string;
  description?: ReactNode;
  placeholder?: string;
  required?: boolean;
}

/** Alert styles for yellow alerts: their light variant's coloured title is too faint to read (WCAG contrast). */
export const readableTitle = { title: { color: 'var(--mantine-color-text)' } };

const str = (form: SettingsForm, name: string) => String(form.draft[name] ?? '');

export function TextSetting({ form, name, label, description, placeholder, required, multiline }: FieldProps & { multiline?: boolean }) {
  const common = {
    label,
    description,
    placeholder,
    required,
    value: str(form, name),
    error: form.errors[name],
    disabled: !form.editable(name),
    name,
  };
  return multiline ? (
    <Textarea {...common} autosize minRows={3} maxRows={10} ff="monospace" onChange={(e) => form.set(name, e.currentTarget.value)} />
  ) : (
    <TextInput {...common} onChange={(e) => form.set(name, e.currentTarget.value)} />
  );
}

/** A write-only secret: empty means "keep the stored one", so it is sent only when typed. */
export function SecretSetting({ form, name, label, description }: FieldProps) {
  return (
    <PasswordInput
      label={label}
      description={description ?? 'Stored, never shown. Leave empty to keep it.'}
      placeholder="unchanged"
      autoComplete="new-password"
      value={str(form, name)}
      error={form.errors[name]}
      disabled={!form.editable(name)}
      onChange={(e) => form.set(name, e.currentTarget.value)}
    />
  );
}

export function SwitchSetting({ form, name, label, description }: FieldProps) {
  return (
    <Switch
      label={label}
      description={description}
      checked={form.draft[name] === true}
      error={form.errors[name]}
      disabled={!form.editable(name)}
      onChange={(e) => form.set(name, e.currentTarget.checked)}
    />
  );
}

/** A whole number; an empty field is kept as NaN so that the check names it. */
export function NumberSetting({ form, name, label, description, required, min }: FieldProps & { min?: number }) {
  const value = form.draft[name];
  return (
    <NumberInput
      label={label}
      description={description}
      required={required}
      min={min}
      // The check says what is wrong instead of the field quietly changing the number.
      clampBehavior="none"
      allowDecimal={false}
      value={typeof value === 'number' && !Number.isNaN(value) ? value : ''}
      error={form.errors[name]}
      disabled={!form.editable(name)}
      onChange={(v) => form.set(name, v === '' ? Number.NaN : Number(v))}
    />
  );
}

/** An LDAP search scope, Harbor's 0/1/2. */
export function ScopeSetting({ form, name, label }: FieldProps) {
  return (
    <Select
      label={label}
      data={scopeOptions}
      value={String(form.draft[name] ?? 2)}
      allowDeselect={false}
      disabled={!form.editable(name)}
      error={form.errors[name]}
      onChange={(v) => v !== null && form.set(name, Number(v))}
    />
  );
}
