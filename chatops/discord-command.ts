/**
 * The Discord application command for rekey: `/rekey help | list | status <id> | rotate <id> |
 * revoke <id> | plan`, as sub-commands so Discord shows each with its own argument.
 *
 *   npm run discord:command                      prints the JSON definition
 *   DISCORD_APPLICATION_ID=… DISCORD_BOT_TOKEN=… npm run discord:command -- --register
 *                                                registers it globally (needs network)
 *
 * Then set the application's Interactions Endpoint URL to https://REKEY_HOST/chatops/discord and
 * DISCORD_PUBLIC_KEY to its public key (both in the Developer Portal, General Information).
 */
const id = {
  type: 3,
  name: "id",
  description: "Credential id (cred_…)",
  required: true,
  min_length: 6,
  max_length: 40,
};

export const rekeyCommand = {
  name: "rekey",
  type: 1,
  description: "Rotate and revoke Clarifai credentials",
  // Only members who can manage the server see it by default; rekey's allow-list still decides.
  default_member_permissions: "32",
  dm_permission: false,
  options: [
    { type: 1, name: "help", description: "What rekey can do" },
    { type: 1, name: "list", description: "Managed credentials with age, state and next action" },
    { type: 1, name: "status", description: "A credential's current rotation and last events", options: [id] },
    { type: 1, name: "rotate", description: "Replace the value, then revoke the old one", options: [id] },
    { type: 1, name: "revoke", description: "Revoke the value at Clarifai (asks for confirmation)", options: [id] },
    { type: 1, name: "plan", description: "What the next cron sweep would do" },
  ],
};

async function main() {
  const json = JSON.stringify(rekeyCommand, null, 2);
  if (!process.argv.includes("--register")) {
    console.log(json);
    return;
  }
  const app = process.env.DISCORD_APPLICATION_ID;
  const token = process.env.DISCORD_BOT_TOKEN;
  if (!app || !token) throw new Error("Cannot register: set DISCORD_APPLICATION_ID and DISCORD_BOT_TOKEN");
  const base = process.env.DISCORD_API_BASE ?? "https://discord.com/api/v10";
  const res = await fetch(`${base}/applications/${app}/commands`, {
    method: "POST",
    headers: { authorization: `Bot ${token}`, "content-type": "application/json" },
    body: json,
  });
  // The token is never printed; Discord's answer holds only the command.
  console.log(`Discord answered ${res.status}: ${await res.text()}`);
  if (!res.ok) process.exitCode = 1;
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
