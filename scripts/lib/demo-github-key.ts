/**
 * DEVELOPMENT ONLY. The private half of the demo GitHub signing key that .dev.vars.example trusts,
 * so `npm run demo` can play GitHub and send a signed secret scanning alert. Public by design:
 * never trust this key outside a local stack.
 */
export const DEMO_GITHUB_KEY_ID = "9d3f0ac14db538fa6b27ec20476b2117b7bf5fb914c0ba07ed72480ff7b2d19a";
export const DEMO_GITHUB_PRIVATE_PKCS8 =
  "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg6VskMdZ9FJWcRy+Y0+S6xht75VMnwb5A2aYZx3aw/GehRANCAAQXPwO6/pefKzYyM6TLcdJ5HLcDd3bj4ARBqy6RHiF7prVwn1oKRxQUVDPsQj5KfZGsp9FL0CJKQ8paVOWAeabW";
