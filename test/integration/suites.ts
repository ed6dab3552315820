// Every integration suite, bundled together with the entry point.
import './diagnostics.test';
import './language.test';
import './preview.test';
import './history.test';
import './delete.test';
import './generation.test';
import './quality.test';
