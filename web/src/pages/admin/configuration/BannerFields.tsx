// The banner every signed-in page shows (banner_message, Harbor's JSON text), with a preview.
import { Alert, Checkbox, Fieldset, Select, SimpleGrid, Stack, Textarea, TextInput } from '@mantine/core';
import { useEffect, useState } from 'react';
import { readableTitle, type SettingsForm } from './fields';
import { bannerColors, bannerTypes, fromInputDate, parseBanner, serializeBanner, toInputDate, type Banner } from './model';

const typeLabels: Record<Banner['type'], string> = { info: 'Information', warning: 'Warning', success: 'Success', danger: 'Danger' };

export function BannerFields({ form }: { form: SettingsForm }) {
  const stored = String(form.draft.banner_message ?? '');
  // The fields are kept here too: without a message the setting is empty, yet the type or
  // dates chosen before typing it must stay.
  const [banner, setBanner] = useState<Banner>(() => parseBanner(stored));
  useEffect(() => {
    if (stored !== serializeBanner(banner)) setBanner(parseBanner(stored));
    // eslint-disable-next-line react-hooks/exhaustive-deps -- follows the draft only (Discard, saved)
  }, [stored]);
  const disabled = !form.editable('banner_message');

  function change(patch: Partial<Banner>) {
    const next = { ...banner, ...patch };
    setBanner(next);
    form.set('banner_message', serializeBanner(next));
  }

  return (
    <Fieldset legend="Banner">
      <Stack gap="sm">
        <Textarea
          label="Banner message"
          description="Shown at the top of every page of the portal; empty for none."
          value={banner.message}
          disabled={disabled}
          autosize
          minRows={2}
          onChange={(e) => change({ message: e.currentTarget.value })}
        />
        <SimpleGrid cols={{ base: 1, sm: 2 }}>
          <Select
            label="Banner type"
            data={bannerTypes.map((value) => ({ value, label: typeLabels[value] }))}
            value={banner.type}
            allowDeselect={false}
            disabled={disabled}
            onChange={(v) => v && change({ type: v as Banner['type'] })}
          />
          <Checkbox
            label="Users may close it"
            checked={banner.closable}
            disabled={disabled}
            mt={{ base: 0, sm: 'xl' }}
            onChange={(e) => change({ closable: e.currentTarget.checked })}
          />
          <TextInput
            type="date"
            label="Show from"
            value={toInputDate(banner.fromDate)}
            disabled={disabled}
            onChange={(e) => change({ fromDate: fromInputDate(e.currentTarget.value) })}
          />
          <TextInput
            type="date"
            label="Show until"
            value={toInputDate(banner.toDate)}
            disabled={disabled}
            error={form.errors.banner_message}
            onChange={(e) => change({ toDate: fromInputDate(e.currentTarget.value) })}
          />
        </SimpleGrid>
        {banner.message.trim() && (
          <Alert color={bannerColors[banner.type]} title="Preview" aria-label="Banner preview" styles={readableTitle}>
            {banner.message}
          </Alert>
        )}
      </Stack>
    </Fieldset>
  );
}
