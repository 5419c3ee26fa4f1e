// Lifeboat's version, in one place: the CLI's --version, the daemon's status and the
// API's appliance report all read it. package.json's "version" must match (a test checks).
export const VERSION = '0.1.0';
