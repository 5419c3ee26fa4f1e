// Failure reaches a person: `lifeboat notify`, which systemd runs through OnFailure= when a
// schedule or the weekly verify fails, posts the failure to a webhook (JSON) and/or mails it
// through the system's sendmail, as the config's `notify` key says. What is said is composed
// by pure functions (notification.ts: the text, the JSON, the mail with its headers, none of
// which a hostile unit name or log line can add a header to); send.ts does the two effects,
// each checked (an HTTP status other than 2xx, or sendmail's exit status, is a failure).
export { type Notification, type NotifyConfig, NotifyConfigSchema, composeNotification, mailMessage, webhookPayload } from './notification.js';
export { postWebhook, sendMail } from './send.js';
