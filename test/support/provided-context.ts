// What test/setup/global-setup.ts provides to tests running inside workerd (`inject(name)`).
export {};
declare module "vitest" {
  export interface ProvidedContext {
    emulatorUrl: string;
    receiverUrl: string;
  }
}
