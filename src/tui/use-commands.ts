// What action keys and dialog answers do: open the right dialog for the selected row,
// walk the restore wizard (image → target → disk → confirm), and run the API call once
// the operator agreed. Every failure ends as a flash message, never as a crash. Nothing
// here cancels a job unless the operator pressed c and answered y.
import { useCallback } from 'react';
import type { Dispatch } from 'react';
import type { JobView, NewJobBody } from '../api/contract.js';
import type { TuiClient } from './client.js';
import type { DataState, ImageView } from './data-state.js';
import { shortBytes, shortImageId } from './format.js';
import type { ActionKey } from './keymap.js';
import { planRestore, type RestoreTarget } from './restore-plan.js';
import { cancelDialogLines, cancelOutcome } from './cancel-words.js';
import { type MachineRow, isActiveJob, machineStatus } from './selectors.js';
import { labelFields, machineFields, machinePatch, newMachineBody, withLabel } from './form.js';
import { type Choice, type Command, type Dialog, type UiAction, form, pick } from './ui-state.js';
import type { Daemon } from './use-daemon.js';

export type Selection = { screen: 'machines'; row?: MachineRow } | { screen: 'images'; row?: ImageView } | { screen: 'jobs'; row?: JobView } | { screen: 'schedules'; row?: { name: string } } | { screen: 'appliance'; row?: undefined };


const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err));

export function useCommands(client: TuiClient, daemon: Daemon, dispatch: Dispatch<UiAction>) {
  const { data } = daemon;
  const flash = useCallback((text: string, kind: 'info' | 'error' = 'info') => dispatch({ type: 'flash', flash: { text, kind } }), [dispatch]);
  const open = (dialog: Dialog) => dispatch({ type: 'dialog', dialog });

  const run = useCallback(
    async (command: Command) => {
      dispatch({ type: 'dialog', dialog: null });
      try {
        switch (command.type) {
          case 'create-jobs': {
            const jobs = [];
            for (const body of command.bodies) jobs.push(await client.createJob(body));
            flash(`${command.what}: job ${jobs.map((j) => `${j.id} ${j.state}`).join(', ')} (3 shows jobs)`);
            break;
          }
          case 'cancel-job': {
            // The daemon answers once the job has stopped; until then the job shows "cancelling".
            flash(`cancelling job ${command.id}…`);
            const ended = cancelOutcome(await client.cancelJob(command.id));
            flash(ended.text, ended.kind);
            break;
          }
          case 'remove-image':
            await client.removeImage(command.id);
            flash(`image ${command.id} deleted`);
            break;
          case 'set-machine-status': {
            await client.editMachine(command.name, { status: command.status });
            flash(command.status === null ? `machine ${command.name} approved: it can be backed up and restored` : `machine ${command.name} ignored: its network boots go to its local disk`);
            break;
          }
          case 'wake-machine': {
            const woke = await client.wakeMachine(command.name);
            flash(`Wake-on-LAN sent to ${woke.machine} (${woke.macs.join(', ')})`);
            break;
          }
          case 'remove-machine':
            await client.removeMachine(command.name);
            flash(`machine ${command.name} removed`);
            break;
          case 'remove-schedule':
            await client.removeSchedule(command.name);
            flash(`schedule ${command.name} removed`);
            break;
        }
      } catch (err) {
        flash(errorText(err), 'error');
      }
      daemon.refresh();
    },
    [client, daemon, dispatch, flash],
  );

  const targetChoices = (image: ImageView, d: DataState): Choice[] => [
    ...d.machines.map((m) => ({ label: `${m.name.padEnd(16)} machine  ${machineStatus(m, d.jobs, Date.now()).now}`, value: { kind: 'machine' as const, name: m.name } })),
    ...d.devices.map((dev) => {
      const plan = planRestore(image, { kind: 'device', device: dev }, d.machines);
      return { label: `${dev.path.padEnd(16)} ${dev.system ? 'system ' : dev.kind === 'file' ? 'file   ' : 'docked '}  ${dev.model ?? ''} ${shortBytes(dev.sizeBytes)}`, value: { kind: 'device' as const, path: dev.path }, ...(plan.verdict === 'refused' ? { disabled: plan.reason } : {}) };
    }),
  ];

  const confirmPlan = (image: ImageView, target: RestoreTarget) => {
    const plan = planRestore(image, target, data.machines);
    if (plan.verdict === 'refused') return dispatch({ type: 'dialog-error', error: plan.reason });
    // How to restore, before the confirmation: nothing chosen unless the operator chooses it.
    const options: Choice[] = [
      { label: 'verify: read the target back afterwards and compare every chunk', value: { kind: 'option', option: 'verify' } },
      { label: 'grow-last: on a larger disk, enlarge the last partition and its filesystem to the end', value: { kind: 'option', option: 'growLast' } },
    ];
    open(pick('Restore options (space chooses, enter goes on to the confirmation)', 'restore-options', options, { multi: true, plan, cursor: 0 }));
  };

  const startRestore = (imageId?: string) => {
    const image = data.images.find((i) => i.id === imageId);
    if (image) return open(pick(`Restore ${image.id} onto which machine or docked disk? (up/down, enter)`, 'restore-target', targetChoices(image, data), { imageId: image.id, cursor: -1 }));
    if (data.images.length === 0) return flash('there are no images to restore yet', 'error');
    const choices = [...data.images].sort((a, b) => b.createdAt.localeCompare(a.createdAt)).map((i) => ({ label: `${shortImageId(i.id)}  ${i.label ?? i.sourcePath}  ${shortBytes(i.diskSize)}`, value: { kind: 'image' as const, id: i.id } }));
    open(pick('Restore which image?', 'restore-image', choices));
  };

  const act = async (key: ActionKey, sel: Selection) => {
    if (key === 'n') {
      if (sel.screen !== 'machines') return flash('n adds a machine on the Machines screen (1)', 'error');
      return open(form('New machine', ['enter adds it, esc cancels; it then boots into Lifeboat from the network'], { kind: 'machine-add' }, machineFields()));
    }
    if (key === 'r' && (sel.screen === 'machines' || sel.screen === 'images')) return startRestore(sel.screen === 'images' ? sel.row?.id : undefined);
    if (key === 'a' || key === 'i') {
      if (sel.screen !== 'machines' || sel.row?.kind !== 'machine') return flash(`${key} approves or ignores a machine: select one on the Machines screen (1)`, 'error');
      const m = sel.row.machine;
      if (key === 'a' && m.status === undefined) return flash(`${m.name} is already approved`, 'error');
      if (key === 'i' && m.status === 'ignored') return flash(`${m.name} is already ignored`, 'error');
      const lines =
        key === 'a'
          ? [`Take ${m.name} (${m.macs.join(', ')}) into Lifeboat?`, 'It can then be backed up and restored; rename it with `lifeboat machines edit`.']
          : [`Ignore ${m.name} (${m.macs.join(', ')})?`, 'Its network boots go to its local disk until it is approved.'];
      return open({ kind: 'confirm', title: key === 'a' ? `Approve ${m.name}` : `Ignore ${m.name}`, lines, command: { type: 'set-machine-status', name: m.name, status: key === 'a' ? null : 'ignored' } });
    }
    if (key === 'w') {
      if (sel.screen === 'machines' && sel.row?.kind === 'machine') {
        const m = sel.row.machine;
        return open({ kind: 'confirm', title: `Wake ${m.name}`, lines: [`Send Wake-on-LAN to ${m.macs.join(', ')} on the boot network?`, 'The machine must have Wake-on-LAN enabled in its firmware.'], command: { type: 'wake-machine', name: m.name } });
      }
      return flash('w wakes a machine: select one on the Machines screen (1)', 'error');
    }
    if (sel.screen === 'machines' && sel.row) {
      const row = sel.row;
      if (row.kind === 'device') {
        if (key === 'b' && row.device.system) return flash(`${row.device.path} is the appliance's own system disk (it holds ${row.device.system}): it is never backed up or restored by a job`, 'error');
        if (key === 'b') return open(form('Back up a docked disk', [`${row.device.path}  ${row.device.model ?? ''} ${row.device.serial ?? ''}  ${shortBytes(row.device.sizeBytes)}`, 'enter starts the backup, esc cancels'], { kind: 'backup-label', bodies: [{ type: 'backup', device: row.device.path }], what: `backup of ${row.device.path}` }, labelFields()));
        if (key === 'e') return flash(`${row.device.path} is a disk docked in the appliance: only machines are edited`, 'error');
        if (key === 'd') return flash(`${row.device.path} is a disk docked in the appliance, not a record: undock it to remove it`, 'error');
      } else {
        const m = row.machine;
        if (key === 'e') return open(form(`Edit machine ${m.name}`, ['enter saves, esc cancels'], { kind: 'machine-edit', name: m.name }, machineFields(m)));
        if (key === 'd') return open({ kind: 'confirm', title: `Remove machine ${m.name}`, lines: ['Its record and disk inventory are removed; its images stay.'], command: { type: 'remove-machine', name: m.name } });
        if (key === 'b') {
          const full = await daemon.loadMachine(m.name);
          if (!full) return flash(`could not read machine ${m.name} from the daemon`, 'error');
          if (full.disks.length === 0) {
            const lines = [`No disks are known for ${m.name} yet: its inventory arrives when it first runs the boot OS.`, `Queue a backup of every disk of ${m.name}? The job waits until the machine boots from the network.`];
            return open(form(`Back up ${m.name}`, lines, { kind: 'backup-label', bodies: [{ type: 'backup', machine: m.name }], what: `backup of ${m.name}` }, labelFields()));
          }
          const choices = full.disks.map((d) => ({ label: `${d.devicePath.padEnd(12)} ${(d.model ?? '').slice(0, 20).padEnd(20)} ${(d.serial ?? '').slice(0, 16).padEnd(16)} ${shortBytes(d.size)}`, value: { kind: 'disk' as const, machine: m.name, diskId: d.id } }));
          return open(pick(`Back up which disks of ${m.name}? (space chooses, a all)`, 'backup-disks', choices, { multi: true }));
        }
      }
    }
    if (sel.screen === 'images' && sel.row) {
      const img = sel.row;
      if (key === 'v') return run({ type: 'create-jobs', bodies: [{ type: 'verify', image: img.id }], what: `verify of ${img.id}` });
      if (key === 'd') return open({ kind: 'confirm', title: `Delete image ${img.id}`, lines: [`${img.label ?? ''} ${img.sourcePath} ${shortBytes(img.diskSize)}${img.protected ? '  (PROTECTED)' : ''}`, 'Chunks no other image uses are freed by the next store gc.'], command: { type: 'remove-image', id: img.id } });
    }
    if (sel.screen === 'jobs' && sel.row && key === 'c') {
      const j = sel.row;
      if (!isActiveJob(j)) return flash(`job ${j.id} is already ${j.state}`, 'error');
      if (j.state === 'cancelling') return flash(`job ${j.id} is already cancelling: it stops at its next step`, 'error');
      return open({ kind: 'confirm', title: `Cancel job ${j.id}`, lines: cancelDialogLines(j), command: { type: 'cancel-job', id: j.id } });
    }
    if (sel.screen === 'schedules' && sel.row && key === 'd') return open({ kind: 'confirm', title: `Remove schedule ${sel.row.name}`, lines: ['Its timer stops firing; images it made stay.'], command: { type: 'remove-schedule', name: sel.row.name } });
    const hints: Record<ActionKey, string> = { b: 'b backs up a machine or docked disk (1)', r: 'r restores an image (1 or 2)', v: 'v verifies an image (2)', d: 'd deletes the selected image, machine or schedule', c: 'c cancels the selected job (3)', e: 'e edits a machine (1)', w: '', a: '', i: '', n: '' };
    flash(sel.row || sel.screen === 'appliance' ? hints[key] : 'nothing is selected', 'error');
  };

  const submit = async (dialog: Dialog) => {
    if (dialog.kind === 'restore-confirm') {
      const { plan } = dialog;
      if (plan.verdict === 'other' && dialog.typed !== plan.mustType) return dispatch({ type: 'dialog-error', error: `type ${plan.mustType} exactly to restore onto it` });
      return run({ type: 'create-jobs', bodies: [plan.body], what: `restore onto ${plan.mustType}` });
    }
    if (dialog.kind === 'form') return submitForm(dialog);
    if (dialog.kind !== 'pick') return;
    const choice = dialog.choices[dialog.cursor];
    if (!dialog.multi && choice?.disabled) return dispatch({ type: 'dialog-error', error: choice.disabled });
    if (dialog.purpose === 'backup-disks') {
      const chosen = dialog.choices.filter((_, i) => dialog.chosen[i]).map((c) => c.value).filter((v) => v.kind === 'disk');
      if (chosen.length === 0) return dispatch({ type: 'dialog-error', error: 'choose at least one disk with space (a chooses all)' });
      const machine = chosen[0]?.machine as string;
      const disks = data.machineDetails[machine]?.disks ?? [];
      const bodies: NewJobBody[] =
        chosen.length === dialog.choices.length ? [{ type: 'backup', machine }] : chosen.map((c) => ({ type: 'backup', machine, disk: ((d) => d?.serial ?? d?.devicePath ?? c.diskId)(disks.find((d) => d.id === c.diskId)) }));
      return open(form(`Back up ${machine}`, [`${chosen.length} disk(s): enter starts, esc cancels`], { kind: 'backup-label', bodies, what: `backup of ${machine}` }, labelFields()));
    }
    if (dialog.purpose === 'restore-options') {
      if (!dialog.plan) return;
      const chosen = new Set(dialog.choices.filter((_, i) => dialog.chosen[i]).map((c) => (c.value.kind === 'option' ? c.value.option : '')));
      const body = { ...dialog.plan.body, ...(chosen.has('verify') ? { verify: true } : {}), ...(chosen.has('growLast') ? { growLast: true } : {}) } as NewJobBody;
      return open({ kind: 'restore-confirm', plan: { ...dialog.plan, body }, typed: '' });
    }
    if (dialog.cursor < 0) return dispatch({ type: 'dialog-error', error: 'nothing is chosen yet: move to a target with up/down, then enter' });
    if (!choice) return;
    const v = choice.value;
    if (v.kind === 'image') return startRestore(v.id);
    const image = data.images.find((i) => i.id === dialog.imageId);
    if (!image) return dispatch({ type: 'dialog-error', error: `image ${dialog.imageId} is gone` });
    if (v.kind === 'device') {
      const device = data.devices.find((d) => d.path === v.path);
      return device ? confirmPlan(image, { kind: 'device', device }) : dispatch({ type: 'dialog-error', error: `${v.path} is no longer docked` });
    }
    if (v.kind === 'machine') {
      const full = await daemon.loadMachine(v.name);
      if (!full) return dispatch({ type: 'dialog-error', error: `could not read machine ${v.name} from the daemon` });
      if (full.disks.length === 0) return dispatch({ type: 'dialog-error', error: `no disks are known for ${v.name} yet: its inventory arrives when it first runs the boot OS` });
      const choices = full.disks.map((disk) => {
        const plan = planRestore(image, { kind: 'machine', machine: full, disk }, data.machines);
        return { label: `${disk.devicePath.padEnd(12)} ${(disk.model ?? '').slice(0, 20).padEnd(20)} ${(disk.serial ?? '').slice(0, 16).padEnd(16)} ${shortBytes(disk.size)}`, value: { kind: 'disk' as const, machine: v.name, diskId: disk.id }, ...(plan.verdict === 'refused' ? { disabled: plan.reason } : {}) };
      });
      return open(pick(`Restore ${image.id} onto which disk of ${v.name}? (up/down, enter)`, 'restore-disk', choices, { imageId: image.id, cursor: -1 }));
    }
    if (v.kind !== 'disk') return;
    const machine = data.machineDetails[v.machine];
    const disk = machine?.disks.find((d) => d.id === v.diskId);
    if (!machine || !disk) return dispatch({ type: 'dialog-error', error: `that disk of ${v.machine} is no longer known` });
    confirmPlan(image, { kind: 'machine', machine, disk });
  };

  /** A form's API call; refused, the form stays open with what was typed and why. */
  const submitForm = async (dialog: Extract<Dialog, { kind: 'form' }>) => {
    const p = dialog.purpose;
    if (p.kind === 'backup-label') return run({ type: 'create-jobs', bodies: withLabel(p.bodies, dialog.fields), what: p.what });
    const before = p.kind === 'machine-edit' ? data.machines.find((m) => m.name === p.name) : undefined;
    if (p.kind === 'machine-edit' && !before) return dispatch({ type: 'dialog-error', error: `machine ${p.name} is gone` });
    const body = p.kind === 'machine-add' ? newMachineBody(dialog.fields) : machinePatch(before as NonNullable<typeof before>, dialog.fields);
    if ('problem' in body) return dispatch({ type: 'dialog-error', error: body.problem });
    try {
      const m = p.kind === 'machine-add' ? await client.addMachine(body as Parameters<TuiClient['addMachine']>[0]) : await client.editMachine(p.name, body);
      dispatch({ type: 'dialog', dialog: null });
      flash(p.kind === 'machine-add' ? `machine ${m.name} added (${m.macs.join(', ')})` : `machine ${m.name} saved`);
      daemon.refresh();
    } catch (err) {
      dispatch({ type: 'dialog-error', error: `${errorText(err)}: correct it and press enter again` });
    }
  };

  const answer = (dialog: Dialog, yes: boolean) => {
    if (dialog.kind === 'confirm' && yes) return run(dialog.command);
    dispatch({ type: 'dialog', dialog: null });
  };

  return { act, submit, answer, flash };
}
