// Run before every browser test file (jest.config.js): what a test leaves
// open is closed after it, and the browser after the file.
import { closeBrowser, closePages } from './harness';

afterEach(closePages);
afterAll(closeBrowser);
