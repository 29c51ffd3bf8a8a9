import { Button, Group, PasswordInput, SimpleGrid, Stack, Textarea, TextInput } from '@mantine/core';
import { useState, type FormEvent, type ReactNode } from 'react';
import { errorText } from '../../api/client';
import { SubmitError, useSubmission } from '../../components/FormDialog';

/** Harbor's password rule, as the server checks it (src/auth/password.ts). */
export const passwordRule = '8 to 128 characters, with at least one upper-case letter, one lower-case letter and one digit.';

export const passwordsDiffer = 'The passwords do not match.';

/** "username admin is already taken" → "Username admin is already taken." */
export function sentence(message: string): string {
  const text = message.trim();
  if (!text) return text;
  const capital = text[0].toUpperCase() + text.slice(1);
  return /[.!?]$/.test(capital) ? capital : `${capital}.`;
}

/**
 * Where a server error belongs in a form: the first rule whose pattern matches the message
 * names the field; otherwise the error is the form's.
 */
export function placeError<F extends string>(error: unknown, rules: Array<[RegExp, F]>): { field?: F; message: string } {
  const message = sentence(errorText(error));
  const rule = rules.find(([pattern]) => pattern.test(errorText(error)));
  return rule ? { field: rule[1], message } : { message };
}

export interface NewUserValues {
  username: string;
  email: string;
  realname: string;
  password: string;
  comment: string;
}

type UserField = keyof NewUserValues | 'confirm';

const emptyUser: NewUserValues = { username: '', email: '', realname: '', password: '', comment: '' };

const userErrorRules: Array<[RegExp, UserField]> = [
  [/^username/i, 'username'],
  [/^email/i, 'email'],
  [/^realname/i, 'realname'],
  [/^comment/i, 'comment'],
  [/^password/i, 'password'],
];

export interface NewUserFormProps {
  submitLabel: string;
  /** Creates the account; a thrown error is shown beside the field it is about, or above the form. */
  onSubmit: (values: NewUserValues) => Promise<void>;
  onCancel?: () => void;
  /** The visitor's own account (sign-up): the browser may offer to remember the password. */
  ownAccount?: boolean;
  /** Shown under the buttons (a link to sign in, say). */
  footer?: ReactNode;
}

/** Username, email, full name, password twice and a comment: a new local account. */
export function NewUserForm({ submitLabel, onSubmit, onCancel, ownAccount, footer }: NewUserFormProps) {
  const [values, setValues] = useState<NewUserValues>(emptyUser);
  const [confirm, setConfirm] = useState('');
  const [confirmTouched, setConfirmTouched] = useState(false);
  const [errors, setErrors] = useState<Partial<Record<UserField, string>>>({});
  const submission = useSubmission();

  const mismatch = confirmTouched && confirm !== values.password ? passwordsDiffer : undefined;

  function set(field: keyof NewUserValues, value: string) {
    setValues((v) => ({ ...v, [field]: value }));
    setErrors((e) => ({ ...e, [field]: undefined }));
  }

  async function submit(event: FormEvent) {
    event.preventDefault();
    setConfirmTouched(true);
    submission.clear();
    const missing: Partial<Record<UserField, string>> = {};
    if (!values.username.trim()) missing.username = 'Enter a username.';
    if (!values.password) missing.password = 'Enter a password.';
    setErrors(missing);
    if (Object.keys(missing).length > 0 || confirm !== values.password) return;
    await submission.run(
      async () => {
        await onSubmit({ ...values, username: values.username.trim(), email: values.email.trim(), realname: values.realname.trim() });
      },
      (err) => {
        const placed = placeError(err, userErrorRules);
        if (placed.field) setErrors((e) => ({ ...e, [placed.field!]: placed.message }));
        else return placed.message;
        return null;
      },
    );
  }

  return (
    <form onSubmit={submit} noValidate>
      <Stack>
        <SubmitError error={submission.error} />
        <TextInput
          label="Username"
          required
          autoComplete={ownAccount ? 'username' : 'off'}
          description={'No spaces and none of , " ~ # % $ :'}
          value={values.username}
          onChange={(e) => set('username', e.currentTarget.value)}
          error={errors.username}
          data-autofocus
        />
        <SimpleGrid cols={{ base: 1, xs: 2 }} spacing="md">
          <TextInput
            label="Email"
            type="email"
            autoComplete={ownAccount ? 'email' : 'off'}
            value={values.email}
            onChange={(e) => set('email', e.currentTarget.value)}
            error={errors.email}
          />
          <TextInput
            label="Full name"
            autoComplete={ownAccount ? 'name' : 'off'}
            value={values.realname}
            onChange={(e) => set('realname', e.currentTarget.value)}
            error={errors.realname}
          />
        </SimpleGrid>
        <PasswordInput
          label="Password"
          required
          autoComplete="new-password"
          description={passwordRule}
          value={values.password}
          onChange={(e) => set('password', e.currentTarget.value)}
          error={errors.password}
        />
        <PasswordInput
          label="Confirm password"
          required
          autoComplete="new-password"
          value={confirm}
          onChange={(e) => setConfirm(e.currentTarget.value)}
          onBlur={() => confirm !== '' && setConfirmTouched(true)}
          error={mismatch}
        />
        <Textarea
          label="Comment"
          autosize
          minRows={2}
          maxRows={5}
          value={values.comment}
          onChange={(e) => set('comment', e.currentTarget.value)}
          error={errors.comment}
        />
        <Group justify="flex-end" gap="sm">
          {onCancel && (
            <Button variant="default" onClick={onCancel}>
              Cancel
            </Button>
          )}
          <Button type="submit" loading={submission.busy} fullWidth={!onCancel}>
            {submitLabel}
          </Button>
        </Group>
        {footer}
      </Stack>
    </form>
  );
}

export interface PasswordPairProps {
  newLabel: string;
  confirmLabel: string;
  value: string;
  onChange: (value: string) => void;
  confirm: string;
  onConfirmChange: (value: string) => void;
  /** Show the mismatch now (after a submit) rather than on leaving the confirm field. */
  checked: boolean;
  onChecked: () => void;
  error?: string;
}

/** A new password and its confirmation, with the rule as help and the mismatch shown before sending. */
export function PasswordPair(props: PasswordPairProps) {
  const mismatch = props.checked && props.confirm !== props.value ? passwordsDiffer : undefined;
  return (
    <>
      <PasswordInput
        label={props.newLabel}
        required
        autoComplete="new-password"
        description={passwordRule}
        value={props.value}
        onChange={(e) => props.onChange(e.currentTarget.value)}
        error={props.error}
      />
      <PasswordInput
        label={props.confirmLabel}
        required
        autoComplete="new-password"
        value={props.confirm}
        onChange={(e) => props.onConfirmChange(e.currentTarget.value)}
        onBlur={() => props.confirm !== '' && props.onChecked()}
        error={mismatch}
      />
    </>
  );
}
