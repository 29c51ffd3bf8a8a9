import {
  ActionIcon,
  Alert,
  Button,
  Collapse,
  Divider,
  Group,
  Modal,
  PasswordInput,
  Skeleton,
  Stack,
  Text,
  Textarea,
  TextInput,
  Title,
  Tooltip,
} from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { IconEye, IconEyeOff } from '@tabler/icons-react';
import { useState, type FormEvent } from 'react';
import { api, errorText, segment } from '../../api/client';
import type { CurrentUser, SystemInfo } from '../../api/types';
import { useSession } from '../../auth/session';
import { SubmitError, useSubmission } from '../../components/FormDialog';
import { CopyIcon } from '../../components/CopyField';
import { notifyDone, notifyError } from '../../lib/notify';
import { passwordRule, placeError } from './forms';

/** The signed-in user's profile (and, for OIDC users, their CLI secret). */
export function ProfileModal({ opened, onClose }: { opened: boolean; onClose: () => void }) {
  return (
    <Modal opened={opened} onClose={onClose} title="User profile" centered size="lg">
      {/* The modal unmounts its content when closed: every opening reads the profile afresh. */}
      <Profile onClose={onClose} />
    </Modal>
  );
}

function Profile({ onClose }: { onClose: () => void }) {
  const profile = useQuery({ queryKey: ['profile'], queryFn: () => api.get<CurrentUser>('/users/current'), staleTime: 0 });
  const info = useQuery({ queryKey: ['systeminfo'], queryFn: () => api.get<SystemInfo>('/systeminfo') });
  if (profile.isPending || info.isPending) return <Skeleton height={220} />;
  if (profile.isError)
    return (
      <Alert color="red" role="alert" title="Could not read your profile">
        {errorText(profile.error)}
      </Alert>
    );
  return (
    <Stack gap="lg">
      <ProfileForm user={profile.data} onClose={onClose} editable={editableProfile(profile.data, info.data?.auth_mode)} />
      {profile.data.oidc_user_meta && (
        <CliSecret userId={profile.data.user_id} secret={profile.data.oidc_user_meta.secret} onChanged={() => profile.refetch()} />
      )}
    </Stack>
  );
}

/**
 * Harbor's rule: outside db_auth, accounts live in the directory or the provider and only the
 * local admin's profile may be changed here.
 */
function editableProfile(user: CurrentUser, authMode: string | undefined): boolean {
  return !authMode || authMode === 'db_auth' || user.username === 'admin';
}

type Field = 'email' | 'realname' | 'comment';

const errorRules: Array<[RegExp, Field]> = [
  [/^email/i, 'email'],
  [/^realname/i, 'realname'],
  [/^comment/i, 'comment'],
];

function ProfileForm({ user, onClose, editable }: { user: CurrentUser; onClose: () => void; editable: boolean }) {
  const session = useSession();
  const [values, setValues] = useState({ email: user.email, realname: user.realname, comment: user.comment });
  const [errors, setErrors] = useState<Partial<Record<Field, string>>>({});
  const submission = useSubmission();

  function set(field: Field, value: string) {
    setValues((v) => ({ ...v, [field]: value }));
    setErrors((e) => ({ ...e, [field]: undefined }));
  }

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (!editable) return;
    await submission.run(
      async () => {
        await api.put(`/users/${segment(user.user_id)}`, { ...values, email: values.email.trim(), realname: values.realname.trim() });
        await session.refresh();
        notifyDone('Your profile was saved');
        onClose();
      },
      (err) => {
        const placed = placeError(err, errorRules);
        if (!placed.field) return placed.message;
        setErrors({ [placed.field]: placed.message });
        return null;
      },
    );
  }

  return (
    <form onSubmit={submit} noValidate>
      <Stack>
        <SubmitError error={submission.error} />
        <TextInput label="Username" value={user.username} readOnly description="A username cannot be changed." />
        <TextInput
          label="Email"
          type="email"
          autoComplete="email"
          value={values.email}
          onChange={(e) => set('email', e.currentTarget.value)}
          error={errors.email}
          readOnly={!editable}
          data-autofocus
        />
        <TextInput
          label="Full name"
          autoComplete="name"
          value={values.realname}
          onChange={(e) => set('realname', e.currentTarget.value)}
          error={errors.realname}
          readOnly={!editable}
        />
        <Textarea
          label="Comment"
          autosize
          minRows={2}
          maxRows={5}
          value={values.comment}
          onChange={(e) => set('comment', e.currentTarget.value)}
          error={errors.comment}
          readOnly={!editable}
        />
        {editable ? (
          <Group justify="flex-end" gap="sm">
            <Button variant="default" onClick={onClose}>
              Cancel
            </Button>
            <Button type="submit" loading={submission.busy}>
              Save
            </Button>
          </Group>
        ) : (
          <Text size="sm" c="dimmed">
            Your account lives in your organisation&apos;s directory or sign-in provider: change it there.
          </Text>
        )}
      </Stack>
    </form>
  );
}

const secretAlphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';

/** 32 random characters that meet the password rule (upper, lower and digit), as Harbor's portal makes them. */
function randomSecret(): string {
  for (;;) {
    const bytes = crypto.getRandomValues(new Uint8Array(32));
    const secret = Array.from(bytes, (b) => secretAlphabet[b % secretAlphabet.length]).join('');
    if (/[A-Z]/.test(secret) && /[a-z]/.test(secret) && /\d/.test(secret)) return secret;
  }
}

/** An OIDC user's CLI secret: the password docker login and other registry clients take in place of the provider's. */
function CliSecret({ userId, secret, onChanged }: { userId: number; secret: string; onChanged: () => Promise<unknown> }) {
  const [shown, setShown] = useState(false);
  const [setting, setSetting] = useState(false);
  const [newSecret, setNewSecret] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState<'generate' | 'set' | null>(null);

  async function store(value: string, how: 'generate' | 'set') {
    setBusy(how);
    setError(null);
    try {
      await api.put(`/users/${segment(userId)}/cli_secret`, { secret: value });
      await onChanged();
      notifyDone('Your CLI secret was changed: the old one no longer works');
      setSetting(false);
      setNewSecret('');
    } catch (err) {
      if (how === 'set') setError(placeError(err, []).message);
      else notifyError(err, 'Could not generate a new secret');
    } finally {
      setBusy(null);
    }
  }

  function submit(event: FormEvent) {
    event.preventDefault();
    if (!newSecret) return setError('Enter the new secret.');
    void store(newSecret, 'set');
  }

  return (
    <section aria-labelledby="cli-secret-title">
      <Divider mb="md" />
      <Stack gap="sm">
        <Title order={2} size="h4" id="cli-secret-title">
          CLI secret
        </Title>
        <Text size="sm">
          You sign in here through your organisation&apos;s provider. Registry clients such as docker login, podman and helm take your
          username and this secret as the password instead.
        </Text>
        <TextInput
          label="CLI secret"
          value={secret}
          readOnly
          type={shown ? 'text' : 'password'}
          styles={{ input: { fontFamily: 'var(--mantine-font-family-monospace)' } }}
          rightSectionWidth={68}
          rightSection={
            <Group gap={2} wrap="nowrap">
              <Tooltip label={shown ? 'Hide secret' : 'Show secret'} withArrow>
                <ActionIcon
                  variant="subtle"
                  color="gray"
                  onClick={() => setShown((s) => !s)}
                  aria-label={shown ? 'Hide CLI secret' : 'Show CLI secret'}
                >
                  {shown ? <IconEyeOff size={16} aria-hidden /> : <IconEye size={16} aria-hidden />}
                </ActionIcon>
              </Tooltip>
              <CopyIcon value={secret} label="Copy CLI secret" />
            </Group>
          }
        />
        <Group gap="sm">
          <Button variant="light" loading={busy === 'generate'} disabled={busy !== null} onClick={() => store(randomSecret(), 'generate')}>
            Generate new secret
          </Button>
          <Button variant="default" onClick={() => setSetting((s) => !s)} aria-expanded={setting} disabled={busy !== null}>
            Set secret
          </Button>
        </Group>
        <Collapse expanded={setting}>
          <form onSubmit={submit} noValidate>
            <Stack gap="sm">
              <PasswordInput
                label="New secret"
                autoComplete="new-password"
                description={passwordRule}
                value={newSecret}
                onChange={(e) => {
                  setNewSecret(e.currentTarget.value);
                  setError(null);
                }}
                error={error}
              />
              <Group justify="flex-end">
                <Button type="submit" loading={busy === 'set'}>
                  Save secret
                </Button>
              </Group>
            </Stack>
          </form>
        </Collapse>
      </Stack>
    </section>
  );
}
