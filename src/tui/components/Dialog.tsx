// The one open dialog: a y/n question, a notice, a list to pick from (one or several),
// or the restore confirmation with source and target side by side.
import { escapeForTerminal } from '../../text.js';
import { Box, Text } from 'ink';
import { fit, windowStart } from '../format.js';
import type { Identity } from '../restore-plan.js';
import { useTheme } from '../theme.js';
import { Panel } from './Panel.js';
import type { Dialog as DialogState } from '../ui-state.js';

function IdentityColumn({ id, width, highlight }: { id: Identity; width: number; highlight?: Identity }) {
  const theme = useTheme();
  return (
    <Box flexDirection="column" width={width}>
      <Text bold>{fit(id.title, width)}</Text>
      {id.rows.map(([k, v]) => {
        const other = highlight?.rows.find(([hk]) => hk === k)?.[1];
        const differs = other !== undefined && other !== v;
        return (
          <Text key={k} color={differs ? theme.tone('yellow') : undefined} bold={differs}>
            {fit(`${k.padEnd(8)}${v}`, width - 1, { ascii: theme.ascii })}
          </Text>
        );
      })}
    </Box>
  );
}

const field = (id: Identity, key: string) => id.rows.find(([k]) => k === key)?.[1] ?? '?';

export function Dialog({ dialog, width, height }: { dialog: DialogState; width: number; height: number }) {
  const theme = useTheme();
  const inner = width - 4;
  let title: string;
  let body: React.ReactNode;
  let error: string | undefined;
  switch (dialog.kind) {
    case 'confirm':
    case 'notice':
      title = dialog.title;
      body = (
        <>
          {dialog.lines.map((l, i) => (
            <Text key={i} wrap="wrap">
              {escapeForTerminal(l)}
            </Text>
          ))}
          <Text bold>{dialog.kind === 'confirm' ? 'y yes   n no' : 'enter or esc closes'}</Text>
        </>
      );
      break;
    case 'pick': {
      title = dialog.title;
      error = dialog.error;
      const visible = Math.max(1, height - 5);
      const start = windowStart(dialog.choices.length, dialog.cursor, visible);
      body = (
        <>
          {dialog.choices.slice(start, start + visible).map((c, i) => {
            const index = start + i;
            const mark = dialog.multi ? (dialog.chosen[index] ? '[x] ' : '[ ] ') : '';
            return (
              <Text key={index} inverse={index === dialog.cursor} dimColor={!!c.disabled}>
                {fit(`${index === dialog.cursor ? theme.pointer : ' '} ${mark}${c.label}${c.disabled ? `  cannot: ${c.disabled}` : ''}`, inner, { ascii: theme.ascii, pad: index === dialog.cursor })}
              </Text>
            );
          })}
          {dialog.choices[dialog.cursor]?.disabled ? (
            <Text color={theme.tone('yellow')} wrap="wrap">
              {escapeForTerminal(`cannot: ${dialog.choices[dialog.cursor]?.disabled ?? ''}`)}
            </Text>
          ) : null}
          <Text dimColor>{dialog.purpose === 'restore-options' ? 'space chooses  enter goes on' : dialog.multi ? 'space chooses  a all  enter starts' : 'enter chooses'}</Text>
        </>
      );
      break;
    }
    case 'form': {
      title = dialog.title;
      error = dialog.error;
      const labelWidth = Math.max(...dialog.fields.map((f) => f.label.length)) + 1;
      body = (
        <>
          {dialog.lines.map((l, i) => (
            <Text key={`l${i}`}>{fit(l, inner, { ascii: theme.ascii })}</Text>
          ))}
          {dialog.fields.map((f, i) => {
            const on = i === dialog.cursor;
            // The end of a long value stays in view: that is where the typing is.
            const room = inner - labelWidth - 3;
            const shown = f.value.length > room ? `${theme.ascii ? '~' : '…'}${f.value.slice(-(room - 1))}` : f.value;
            return (
              <Text key={f.key}>
                {`${on ? theme.pointer : ' '} ${f.label.padEnd(labelWidth)}`}
                <Text inverse={on}>{escapeForTerminal(shown) || ' '}</Text>
                {!on || f.value ? '' : <Text dimColor>{fit(` ${f.hint ?? ''}`, Math.max(0, room - 1))}</Text>}
              </Text>
            );
          })}
          <Text dimColor>tab or up/down: field   enter: save   esc: cancel</Text>
        </>
      );
      break;
    }
    case 'restore-confirm': {
      const { plan } = dialog;
      error = dialog.error;
      const other = plan.verdict === 'other';
      title = other ? 'RESTORE ONTO A DIFFERENT MACHINE OR DISK' : "Restore onto the image's own source disk";
      const col = Math.floor(inner / 2);
      body = (
        <>
          <Box>
            <IdentityColumn id={plan.source} width={col} />
            <IdentityColumn id={plan.target} width={col} highlight={plan.source} />
          </Box>
          <Text color={theme.tone('red')} bold>
            {fit(`Everything on ${field(plan.target, 'disk')} of ${field(plan.target, 'machine')} is overwritten.`, inner, { ascii: theme.ascii })}
          </Text>
          <Text>{fit(`Then: ${[...('verify' in plan.body && plan.body.verify ? ['read back and verify'] : []), ...('growLast' in plan.body && plan.body.growLast ? ['grow the last partition'] : [])].join(', ') || 'no verify, no growing'}`, inner, { ascii: theme.ascii })}</Text>
          {other ? (
            <Text>
              {fit(`Type ${plan.mustType} to confirm: `, inner)}
              <Text inverse>{escapeForTerminal(dialog.typed) || ' '}</Text>
            </Text>
          ) : (
            <Text bold>y restore   n no</Text>
          )}
        </>
      );
      break;
    }
  }
  return (
    <Panel borderColor={theme.tone(dialog.kind === 'restore-confirm' ? 'red' : 'cyan')} width={width} height={height}>
      <Text bold>{fit(title, inner, { ascii: theme.ascii })}</Text>
      {body}
      {error ? (
        <Text color={theme.tone('red')} wrap="wrap">
          {`! ${escapeForTerminal(error)}`}
        </Text>
      ) : null}
    </Panel>
  );
}
