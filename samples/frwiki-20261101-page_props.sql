-- MariaDB dump 10.19  Distrib 10.5.29-MariaDB, for debian-linux-gnu (x86_64)
--
-- Host: localhost    Database: frwiki
-- ------------------------------------------------------
-- Server version	10.11.13-MariaDB-log
-- wikidrop sample data: this project's own made-up page_props for samples/frwiki-20261101-pages-articles.xml.bz2

/*!40101 SET NAMES utf8mb4 */;
/*!40103 SET TIME_ZONE='+00:00' */;

DROP TABLE IF EXISTS `page_props`;
CREATE TABLE `page_props` (
  `pp_page` int(10) unsigned NOT NULL,
  `pp_propname` varbinary(60) NOT NULL DEFAULT '',
  `pp_value` blob NOT NULL,
  `pp_sortkey` float DEFAULT NULL,
  PRIMARY KEY (`pp_page`,`pp_propname`),
  UNIQUE KEY `pp_propname_page` (`pp_propname`,`pp_page`),
  UNIQUE KEY `pp_propname_sortkey_page` (`pp_propname`,`pp_sortkey`,`pp_page`)
) ENGINE=InnoDB DEFAULT CHARSET=binary ROW_FORMAT=COMPRESSED;

/*!40000 ALTER TABLE `page_props` DISABLE KEYS */;
INSERT INTO `page_props` VALUES (3,'kartographer_frames','1',NULL),(3,'page_image_free','Lyon_-_Fourvière_depuis_la_Saône.jpg',NULL),(3,'wikibase_item','Q456',NULL),(4,'page_image_free','Rhône_à_Arles.jpg',NULL),(4,'wikibase_item','Q602',NULL),(5,'defaultsort','Jeanne d\'Arc',NULL),(5,'page_image_free','Joan_of_Arc_miniature_graded.jpg',NULL),(5,'wikibase_item','Q7226',NULL),(6,'page_image_free','Château_de_Chambord_(façade_nord).jpg',NULL),(6,'wikibase_item','Q208173',NULL),(7,'disambiguation','',NULL),(7,'wikibase_item','Q223655',NULL),(8,'page_image_free','Mercury_in_color_-_Prockter07_centered.jpg',NULL),(8,'wikibase_item','Q308',NULL),(9,'page_image_free','Pouring_liquid_mercury_bionerd.jpg',NULL),(9,'wikibase_item','Q925',NULL),(10,'wikibase_item','Q5238',NULL),(11,'defaultsort','Eiffel, Gustave',NULL),(11,'page_image_free','Gustave_Eiffel_1888_Nadar.jpg',NULL),(11,'wikibase_item','Q20882',NULL),(12,'kartographer_frames','1',NULL),(12,'page_image_free','Tour_Eiffel_Wikimedia_Commons.jpg',NULL);
INSERT INTO `page_props` VALUES (12,'wikibase_item','Q243',NULL),(13,'wikibase_item','Q177',NULL),(14,'page_image_free','Camembert_(Normandie).jpg',NULL),(14,'wikibase_item','Q849',NULL),(15,'defaultsort','Curie, Marie',NULL),(15,'page_image_free','Marie_Curie_c._1920s.jpg',NULL),(15,'wikibase_item','Q7186',NULL),(16,'notoc','',NULL),(16,'wikibase_item','Q1542146',NULL),(17,'page_image_free','Loire_à_Saumur.jpg',NULL),(17,'wikibase_item','Q1469',NULL),(18,'defaultsort','Hugo, Victor',NULL),(18,'page_image_free','Victor_Hugo_by_Étienne_Carjat_1876_-_full.jpg',NULL),(18,'wikibase_item','Q535',NULL),(19,'wikibase_item','Q3106',NULL),(20,'kartographer_frames','1',NULL),(20,'wikibase_item','Q1479',NULL),(21,'wikibase_item','Q6534',NULL),(27,'wikibase_item','Q5624051',NULL),(29,'wikibase_item','Q8250512',NULL),(31,'wikibase_item','Q187916',NULL),(32,'wikibase_item','Q1033455',NULL);
/*!40000 ALTER TABLE `page_props` ENABLE KEYS */;

-- Dump completed on 2026-11-02  3:14:15
