// Every integration suite, bundled together with the entry point.
import './diagnostics.test';
import './language.test';
import './preview.test';
import './history.test';
import './delete.test';
// Before the generation suite, whose queue tests use up the rate limit for a minute.
import './templatesView.test';
import './analytics.test';
import './coverage.test';
import './agreement.test';
import './generation.test';
import './messageBatches.test';
import './quality.test';
import './webviewMessages.test';
// Last: the workspace database exists by then, and the team database's server starts only here.
import './databaseStatus.test';
// After it: the editor's views on the team database (its own server; it adds to the workspace database).
import './teamViews.test';
