// Every integration suite, bundled together with the entry point.
import './diagnostics.test';
