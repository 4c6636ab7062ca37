//! The log settings a [`Config`] implies: written here, on the config side,
//! so that `logging` does not depend on `config`.

use super::Config;
use crate::logging::LogSettings;

impl LogSettings {
    /// Settings for a service as the runtime configures it.
    ///
    /// ```
    /// use ms_runtime::Config;
    /// use ms_runtime::logging::{LogFormat, LogSettings};
    ///
    /// let config = Config::builder().service_name("ocr").log_format("json").build()?;
    /// let settings = LogSettings::from_config(&config, "handler-name");
    /// assert_eq!(settings.service, "ocr"); // MS_SERVICE_NAME wins over the handler's name
    /// assert_eq!(settings.format, LogFormat::Json);
    /// # Ok::<(), ms_runtime::ConfigError>(())
    /// ```
    pub fn from_config(config: &Config, service: &str) -> Self {
        Self::new(
            config.service_name.as_deref().unwrap_or(service),
            config.instance_id.clone(),
        )
        .with_filter(config.log_filter.clone())
        .with_format(config.log_format)
    }
}
